using System.Numerics;
using System.Text.Json;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// The ode_demo problem for the spiral and memory benchmarks: times, true trajectory and the seeded weights
/// mlp_seed0, read from the repository's copy of torchdiffeq's reference (tests/OdeDsl.Tests/Data/spiral_problem.json,
/// found from the working directory or the bench's folder upwards); otherwise times and trajectory are solved here
/// (dopri5, rtol 1e-7, atol 1e-9, float64) and θ comes from the generated layout's initialiser (seed 0).
/// </summary>
internal sealed class SpiralBenchProblem
{
    public required double[] Times { get; init; }
    /// <summary>[1000, 2].</summary>
    public required double[] TrueY { get; init; }
    public required double[] Theta { get; init; }
    public required string Source { get; init; }

    private static readonly string RepositoryCopy = Path.Combine("tests", "OdeDsl.Tests", "Data", "spiral_problem.json");

    /// <summary>The checked-in reference under the first of the working directory and the bench's folder, or their parents, that has it.</summary>
    private static string? FindRepositoryCopy()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, RepositoryCopy);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    public static SpiralBenchProblem Load(string? path)
    {
        string? found = path ?? FindRepositoryCopy();
        if (path is not null && !File.Exists(path)) throw new FileNotFoundException($"Reference file '{path}' not found.", path);
        return found is null ? Solve() : Read(found);
    }

    private static SpiralBenchProblem Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        double[] Flat(JsonElement e) => e.ValueKind == JsonValueKind.Array
            ? e.EnumerateArray().SelectMany(x => x.ValueKind == JsonValueKind.Array ? Flat(x) : [x.GetDouble()]).ToArray()
            : [e.GetDouble()];
        var mlp = root.GetProperty("mlp_seed0");
        // θ in the generated layout's order: W1 [50,2], b1 [50], W2 [2,50], b2 [2], row-major — as in the file.
        double[] theta = [.. Flat(mlp.GetProperty("W1")), .. Flat(mlp.GetProperty("b1")), .. Flat(mlp.GetProperty("W2")), .. Flat(mlp.GetProperty("b2"))];
        if (theta.Length != SpiralBenchField.Dynamics.ParameterCount)
            throw new InvalidDataException($"{path}: mlp_seed0 has {theta.Length} values, the field needs {SpiralBenchField.Dynamics.ParameterCount}.");
        return new SpiralBenchProblem { Times = Flat(root.GetProperty("t")), TrueY = Flat(root.GetProperty("true_y")), Theta = theta, Source = path };
    }

    private static SpiralBenchProblem Solve()
    {
        var times = Enumerable.Range(0, 1000).Select(i => 25.0 * i / 999).ToArray();
        var sol = Ode.Solve(new TrueField(), [2.0, 0.0], times, new SolveOptions<double> { RelTol = 1e-7, AbsTol = 1e-9, ThrowOnFailure = true });
        return new SpiralBenchProblem
        {
            Times = times, TrueY = sol.States, Theta = SpiralBenchField.Dynamics.Layout.Initialize<double>(0), Source = "solved here; θ from the layout initialiser",
        };
    }

    /// <summary>y0 rows true_y[floor(b·990/B)] (row 0 is [2, 0]).</summary>
    public T[] StartStates<T>(int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y0 = new T[2 * batch];
        for (int b = 0; b < batch; b++)
        {
            int s = (int)((long)b * 990 / batch);
            y0[2 * b] = T.CreateChecked(TrueY[2 * s]);
            y0[2 * b + 1] = T.CreateChecked(TrueY[2 * s + 1]);
        }
        return y0;
    }

    private readonly struct TrueField : IOdeRhs<double>
    {
        public int StateSize => 2;

        public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
        {
            for (int b = 0; b < batch; b++)
            {
                double c0 = y[2 * b] * y[2 * b] * y[2 * b], c1 = y[2 * b + 1] * y[2 * b + 1] * y[2 * b + 1];
                dy[2 * b] = -0.1 * c0 - 2.0 * c1;
                dy[2 * b + 1] = 2.0 * c0 - 0.1 * c1;
            }
        }
    }
}
