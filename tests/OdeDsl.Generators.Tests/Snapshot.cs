using System.Runtime.CompilerServices;

namespace OdeDsl.Generators.Tests;

/// <summary>
/// A small snapshot helper (Verify is not in our package registry): compares text with Snapshots/{name}.verified.cs;
/// on a mismatch writes {name}.received.cs next to it and fails. ODEDSL_ACCEPT_SNAPSHOTS=1 accepts the new text.
/// </summary>
internal static class Snapshot
{
    public static void Match(string actual, string name, [CallerFilePath] string callerPath = "")
    {
        actual = Normalize(actual);
        string dir = Path.Combine(Path.GetDirectoryName(callerPath) ?? "", "Snapshots");
        // a /_/ path (ContinuousIntegrationBuild) has no source folder: read the copy in bin/
        if (!Directory.Exists(dir)) dir = Path.Combine(AppContext.BaseDirectory, "Snapshots");
        string verified = Path.Combine(dir, name + ".verified.cs");
        string received = Path.Combine(dir, name + ".received.cs");
        if (Environment.GetEnvironmentVariable("ODEDSL_ACCEPT_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(verified, actual + "\n");
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        string expected = File.Exists(verified) ? Normalize(File.ReadAllText(verified)) : "";
        if (expected != actual)
        {
            try { File.WriteAllText(received, actual + "\n"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        else if (File.Exists(received)) File.Delete(received);
        Assert.Equal(expected, actual);
    }

    private static string Normalize(string s) => s.Replace("\r\n", "\n").TrimStart('\uFEFF').TrimEnd();
}
