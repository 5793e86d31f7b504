using System.CommandLine;
using Cnf;
using OdeDsl.Training.Distributed;

// Continuous normalising flows (Chen et al. 2018 §4, Figures 4 and 5) and FFJORD's toy densities with OdeDsl.
// `dotnet run -c Release --project examples/Cnf -- <density|mle|toy> [--quick]`; --help lists the options.

var mode = new Argument<string>("mode") { Description = "density (Fig. 4: KL fit to Rezende & Mohamed's potentials), mle (Fig. 5: two circles and two moons), toy (FFJORD's eight data sets)." };
mode.AcceptOnlyFromAmong("density", "mle", "toy");
var quick = new Option<bool>("--quick") { Description = "A few minutes on 2 cores: short runs of every model (the published budgets otherwise)." };
var iterations = new Option<int?>("--iterations") { Description = "CNF iterations (default: published budget, or the quick one)." };
var nfIterations = new Option<int?>("--nf-iterations") { Description = "Planar-flow iterations (default: published budget, or the quick one)." };
var trace = new Option<string>("--trace") { Description = "toy: exact, gaussian or rademacher (Hutchinson).", DefaultValueFactory = _ => "exact" };
trace.AcceptOnlyFromAmong("exact", "gaussian", "rademacher");
var sensitivity = new Option<string>("--sensitivity") { Description = "adjoint or backprop.", DefaultValueFactory = _ => "adjoint" };
sensitivity.AcceptOnlyFromAmong("adjoint", "backprop");
var field = new Option<string>("--field") { Description = "toy: library (MlpField, hand-written sweeps) or dsl (the same field as an [OdeDynamics] method, its trace gradients generated).", DefaultValueFactory = _ => "library" };
field.AcceptOnlyFromAmong("library", "dsl");
var only = new Option<string?>("--only") { Description = "Comma-separated subset: potentials 1-4 (density), circles/moons (mle), data set names (toy)." };
var outDir = new Option<string>("--out") { Description = "Output folder (figures, metrics.jsonl, checkpoints).", DefaultValueFactory = _ => Path.Combine("out", "cnf") };
var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL, Description = "Seed of weights, data and noise." };
var distributed = new Option<bool>("--distributed")
{
    Description = "Data-parallel CNF training over MPI (start with mpirun -np N): each rank solves its shard of every batch; rank 0 evaluates and writes the output. Needs Open MPI.",
};

var root = new RootCommand("Continuous normalising flows: Figures 4 and 5 of Chen et al. 2018 and FFJORD's toy densities.")
{
    mode, quick, iterations, nfIterations, trace, sensitivity, only, outDir, seed, distributed, field,
};
root.SetAction(pr =>
{
    var s = new RunSettings(pr.GetValue(quick), pr.GetValue(iterations), pr.GetValue(nfIterations), pr.GetValue(trace)!,
        pr.GetValue(sensitivity)!, pr.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Path.Combine(pr.GetValue(outDir)!, pr.GetValue(mode)!), pr.GetValue(seed)) { Field = pr.GetValue(field)! };
    if (s.Field == "dsl" && pr.GetValue(mode) != "toy")
    {
        Console.Error.WriteLine("--field dsl applies to the toy mode (FFJORD's concatsquash field written in the DSL).");
        return 2;
    }
    if (!pr.GetValue(distributed)) return Run(pr.GetValue(mode)!, s);
    ProcessGroup group;
    try { group = ProcessGroup.InitializeMpi(); }
    catch (MpiUnavailableException e) { Console.Error.WriteLine(e.Message); return 2; }
    using (group)
    {
        int batch = pr.GetValue(mode) switch { "mle" => 512, "toy" => 100, _ => s.Quick ? 128 : 256 }; // the modes' global batches
        if (batch < group.Size)
        {
            if (group.IsRoot) Console.Error.WriteLine($"{pr.GetValue(mode)} trains on batches of {batch}: at most {batch} ranks, not {group.Size}.");
            return 2;
        }
        return Run(pr.GetValue(mode)!, s with { Group = group });
    }
});
return root.Parse(args).Invoke();

static int Run(string mode, RunSettings s)
{
    if (s.IsRoot) Directory.CreateDirectory(s.OutDir);
    try
    {
        switch (mode)
        {
            case "density": DensityMode.Run(s); break;
            case "mle": MleMode.Run(s); break;
            default: ToyMode.Run(s); break;
        }
    }
    catch (TrainingStoppedException e) { return e.ExitCode; } // every rank stopped (RunGuarded printed why)
    return 0;
}

namespace Cnf
{
    using OdeDsl.Training.Distributed;

    public sealed record RunSettings(bool Quick, int? Iterations, int? NfIterations, string Trace, string Sensitivity, string[]? Only, string OutDir, ulong Seed)
    {
        public OdeDsl.Sensitivity GradientMethod => Sensitivity == "backprop" ? OdeDsl.Sensitivity.Backprop : OdeDsl.Sensitivity.Adjoint();
        /// <summary>toy's field: "library" (MlpField) or "dsl" (FfjordToyDslField through GeneratedCnfField).</summary>
        public string Field { get; init; } = "library";
        public bool Selected(string name) => Only is null || Only.Contains(name);
        /// <summary>The MPI ranks with --distributed; null in one process.</summary>
        public ProcessGroup? Group { get; init; }
        /// <summary>Whether this process evaluates and writes output (always, without --distributed).</summary>
        public bool IsRoot => Group is null || Group.IsRoot;
    }
}
