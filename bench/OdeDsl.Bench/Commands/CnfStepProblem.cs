using System.Numerics;
using System.Text.Json;
using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// shared/reference/cnf_two_circles.json: 512 points of two circles and both models' seeded weights in PyTorch
/// state_dict layout, with torchdiffeq 0.2.5's loss, evaluation counts and step times (its README's table).
/// Also compiled into the test project, which checks the loss and counts.
/// </summary>
public sealed class CnfStepProblem
{
    public const string FileName = "cnf_two_circles.json";

    /// <summary>torchdiffeq's figures (shared/reference/README.md): loss, backward evaluations (adjoint), 2-thread step medians in ms.</summary>
    public static readonly IReadOnlyDictionary<string, (double Loss, int ForwardNfe, int AdjointBackwardNfe, double BackpropMs, double AdjointMs)> Torch =
        new Dictionary<string, (double, int, int, double, double)>
        {
            ["hyper"] = (2.611410, 50, 32, 172, 214),
            ["mlp"] = (15.139483, 50, 56, 91, 193),
        };

    public required double[] X { get; init; }
    public required double[] Hyper { get; init; }
    public required double[] Mlp { get; init; }
    public required string Source { get; init; }

    public static string? FindRepositoryCopy()
    {
        string relative = Path.Combine("tests", "OdeDsl.Tests", "Data", FileName);
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate)) return candidate;
                string beside = Path.Combine(dir.FullName, "Data", FileName);
                if (File.Exists(beside)) return beside;
            }
        return null;
    }

    public static CnfStepProblem Load(string? path)
    {
        string found = path ?? FindRepositoryCopy()
            ?? throw new FileNotFoundException($"{FileName} not found under tests/OdeDsl.Tests/Data; pass --reference.");
        if (!File.Exists(found)) throw new FileNotFoundException($"Reference file '{found}' not found.", found);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(found));
        var root = doc.RootElement;
        var w = root.GetProperty("weights_seed0");
        double[] Concat(JsonElement model, params string[] names) => names.SelectMany(n => Flat(model.GetProperty(n))).ToArray();
        // θ in the fields' layouts, which follow the state_dicts' order (nn.Linear weight [out, in], then bias)
        var hyper = Concat(w.GetProperty("hyper"), "hyper_net.fc1.weight", "hyper_net.fc1.bias", "hyper_net.fc2.weight",
            "hyper_net.fc2.bias", "hyper_net.fc3.weight", "hyper_net.fc3.bias");
        var mlp = Concat(w.GetProperty("mlp"), "net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight", "net.4.bias");
        return new CnfStepProblem { X = Flat(root.GetProperty("x")), Hyper = hyper, Mlp = mlp, Source = found };
    }

    /// <summary>One step: (loss, forward NFE, backward NFE, gradient) for a model and mode.</summary>
    public static (double Loss, long ForwardNfe, long BackwardNfe, T[] Gradient) Step<T>(CnfStepProblem problem, string model, string mode)
        where T : unmanaged, IFloatingPointIeee754<T>
        => model == "hyper"
            ? Step<HyperPlanarField<CnfPyHyperSpec>, T>(problem.Hyper, problem.X, mode)
            : Step<MlpField<CnfPyMlpSpec>, T>(problem.Mlp, problem.X, mode);

    private static (double, long, long, T[]) Step<TField, T>(double[] weights, double[] x, string mode)
        where TField : ICnfField<TField>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var theta = weights.Select(T.CreateChecked).ToArray();
        var points = x.Select(T.CreateChecked).ToArray();
        var flow = new ContinuousFlow<TField, T>(theta, new FlowOptions<T>
        {
            BaseTime = T.Zero, DataTime = T.CreateChecked(10), BaseStd = T.CreateChecked(Math.Sqrt(0.1)),
            Solve = new SolveOptions<T> { RelTol = T.CreateChecked(1e-5), AbsTol = T.CreateChecked(1e-5), OvershootFinalTime = true },
        });
        var grad = new T[theta.Length];
        var rng = new Rng(0);
        var step = flow.NegativeLogLikelihood(points, grad, mode == "adjoint"
            ? Sensitivity.Adjoint(new AdjointOptions { TimeChannelInNorm = false }) // cnf.py's t needs no gradient: torchdiffeq's a_t is 0
            : Sensitivity.Backprop, ref rng);
        return (step.Loss, step.Forward.FunctionEvaluations, step.Backward.FunctionEvaluations, grad);
    }

    private static double[] Flat(JsonElement e) => e.ValueKind == JsonValueKind.Array
        ? e.EnumerateArray().SelectMany(x => x.ValueKind == JsonValueKind.Array ? Flat(x) : [x.GetDouble()]).ToArray()
        : [e.GetDouble()];
}
