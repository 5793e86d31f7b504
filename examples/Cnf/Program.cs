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
// RNODE (Finlay et al. 2020, "How to train your neural ODE"): λ_K·∫‖f‖² dt and λ_J·∫‖∂f/∂z‖²_F dt; their runs use 0.01 for both
var kinetic = new Option<double>("--kinetic") { DefaultValueFactory = _ => 0.0, Description = "λ_K of the kinetic-energy regulariser ∫‖f‖² dt (RNODE uses 0.01; 0 = off)." };
var jacobian = new Option<double>("--jacobian") { DefaultValueFactory = _ => 0.0, Description = "λ_J of the Jacobian-Frobenius regulariser ∫‖∂f/∂z‖²_F dt (RNODE uses 0.01; 0 = off; Hutchinson estimate with --trace gaussian/rademacher)." };
var distributed = new Option<bool>("--distributed")
{
    Description = "Data-parallel CNF training over MPI (start with mpirun -np N): each rank solves its shard of every batch; rank 0 evaluates and writes the output. Needs Open MPI.",
};
var device = new Option<string>("--device") { Description = "toy: cpu (the CPU runtime), cuda or ilgpu-cpu: also sample each trained flow on that device (OdeDsl.Gpu's batched path) and compare with the CPU.", DefaultValueFactory = _ => "cpu" };
device.AcceptOnlyFromAmong("cpu", "cuda", "ilgpu-cpu");

var root = new RootCommand("Continuous normalising flows: Figures 4 and 5 of Chen et al. 2018 and FFJORD's toy densities.")
{
    mode, quick, iterations, nfIterations, trace, sensitivity, only, outDir, seed, kinetic, jacobian, distributed, device, field,
};
root.SetAction(pr =>
{
    var s = new RunSettings(pr.GetValue(quick), pr.GetValue(iterations), pr.GetValue(nfIterations), pr.GetValue(trace)!,
        pr.GetValue(sensitivity)!, pr.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Path.Combine(pr.GetValue(outDir)!, pr.GetValue(mode)!), pr.GetValue(seed)) { Kinetic = pr.GetValue(kinetic), Jacobian = pr.GetValue(jacobian), Field = pr.GetValue(field)! };
    if (s.Field == "dsl" && pr.GetValue(mode) != "toy")
    {
        Console.Error.WriteLine("--field dsl applies to the toy mode (FFJORD's concatsquash field written in the DSL).");
        return 2;
    }
    if (pr.GetValue(device) != "cpu")
    {
        if (pr.GetValue(distributed))
        {
            Console.Error.WriteLine("--device and --distributed do not combine: sample on a device from a single process.");
            return 2;
        }
        if (pr.GetValue(mode) != "toy")
        {
            Console.Error.WriteLine("--device applies to toy mode (its MLP field has a device path); density and mle use hypernetwork fields, which run on the CPU only.");
            return 2;
        }
        if (!OdeDsl.Gpu.GpuDevice.TryOpen(pr.GetValue(device)!, out var gpu, out var why))
        {
            Console.Error.WriteLine(why);
            return 3;
        }
        using (gpu) return Run(pr.GetValue(mode)!, s with { Device = gpu });
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
        /// <summary>With --device cuda|ilgpu-cpu (toy mode): the device the trained flows also sample on.</summary>
        public OdeDsl.Gpu.GpuDevice? Device { get; init; }
        /// <summary>Whether this process evaluates and writes output (always, without --distributed).</summary>
        public bool IsRoot => Group is null || Group.IsRoot;
        /// <summary>λ_K and λ_J of RNODE's regularisers (FlowOptions.Kinetic / JacobianFrobenius); 0 = off.</summary>
        public double Kinetic { get; init; }
        public double Jacobian { get; init; }
    }
}
