using System.Diagnostics;
using System.Text;

namespace OdeDsl.Tests.Distributed;

/// <summary>Finds mpirun and launches the MPI harness under it (tests that need it are skipped where it is absent).</summary>
internal static class MpiRunner
{
    public static readonly string? MpiRun = FindOnPath("mpirun");

    public const string SkipReason =
        "mpirun not found on PATH: install Open MPI (apt-get install openmpi-bin libopenmpi-dev; .ci/run does) to run the MPI tests.";

    public static string HarnessDll => typeof(OdeDsl.MpiHarness.HarnessTrainer).Assembly.Location;

    /// <summary>mpirun -np <paramref name="ranks"/> dotnet OdeDsl.MpiHarness.dll --distributed …; returns exit code and all output.</summary>
    public static (int ExitCode, string Output) Run(int ranks, params string[] harnessArgs) =>
        Launch(new[] { "-np", ranks.ToString(), Dotnet, HarnessDll, "--distributed" }.Concat(harnessArgs));

    /// <summary>mpirun with the common options, then <paramref name="mpirunArgs"/> (e.g. -np N dotnet X.dll …, or an MPMD list);
    /// <see cref="Dotnet"/> gives the host to start.</summary>
    public static (int ExitCode, string Output) Launch(IEnumerable<string> mpirunArgs)
    {
        var psi = new ProcessStartInfo(MpiRun ?? throw new InvalidOperationException(SkipReason))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Open MPI refuses root unless told; 2 ranks on a 2-core (or smaller) machine need --oversubscribe; waiting ranks
        // yield the core instead of spinning (mpi_yield_when_idle), which matters on a shared CI machine.
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        psi.Environment["TERM"] = "dumb";
        foreach (string a in new[] { "--oversubscribe", "--mca", "mpi_yield_when_idle", "1" }.Concat(mpirunArgs))
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpirun did not finish in 120 s. Output so far:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }

    /// <summary>The dotnet host running these tests (the SDK sets DOTNET_HOST_PATH under dotnet test).</summary>
    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}

/// <summary>A fact that is skipped, with <see cref="MpiRunner.SkipReason"/>, where mpirun is absent.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (MpiRunner.MpiRun is null) Skip = MpiRunner.SkipReason;
    }
}
