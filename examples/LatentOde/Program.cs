using System.CommandLine;
using LatentOde;
using OdeDsl.Training.Distributed;

// The latent ODE of Chen et al. 2018 §5 on irregularly sampled spirals (the paper code's latent_ode.py), with the RNN
// baseline: Table 2 and Figures 6–9. `dotnet run -c Release --project examples/LatentOde -- --help` lists the options.

var quick = new Option<bool>("--quick") { Description = "A few minutes: 300 iterations on 1000 spirals, 200 test spirals." };
var observations = new Option<int>("--observations") { Description = "Observations per trajectory: 30, 50 or 100 (Table 2's columns).", DefaultValueFactory = _ => 30 };
observations.AcceptOnlyFromAmong("30", "50", "100");
var model = new Option<string>("--model") { Description = "latent-ode or rnn (the baseline).", DefaultValueFactory = _ => "latent-ode" };
model.AcceptOnlyFromAmong("latent-ode", "rnn");
var field = new Option<string>("--field") { Description = "Latent dynamics: paper (one hidden layer of 20, ELU) or deep (the code's 4-20-20-4 ELU).", DefaultValueFactory = _ => "paper" };
field.AcceptOnlyFromAmong("paper", "deep");
var iterations = new Option<int?>("--iterations") { Description = "Adam iterations, full batch (the code: 2000; --quick: 300)." };
var lr = new Option<double>("--lr") { Description = "Adam learning rate (the code: 0.01).", DefaultValueFactory = _ => Trainer.CodeLearningRate };
var schedule = new Option<string>("--schedule")
{
    Description = "Learning rate: constant (the code) or cosine (annealed from --lr to 0 over the iterations; the Table 2 runs in docs/experiments.md).",
    DefaultValueFactory = _ => "constant",
};
schedule.AcceptOnlyFromAmong("constant", "cosine");
var gradient = new Option<string>("--gradient") { Description = "backprop (the code's default) or adjoint.", DefaultValueFactory = _ => "backprop" };
gradient.AcceptOnlyFromAmong("backprop", "adjoint");
var rtol = new Option<double>("--rtol") { Description = "Solver relative tolerance (float32).", DefaultValueFactory = _ => 1e-5 };
var atol = new Option<double>("--atol") { Description = "Solver absolute tolerance.", DefaultValueFactory = _ => 1e-6 };
var seed = new Option<ulong>("--seed") { Description = "Seed of data, weights and ε.", DefaultValueFactory = _ => 0UL };
var outDir = new Option<string>("--out") { Description = "Output folder.", DefaultValueFactory = _ => Path.Combine("out", "latent-ode") };
var evalEvery = new Option<int>("--eval-every") { Description = "Test RMSE every N iterations.", DefaultValueFactory = _ => 100 };
var resume = new Option<bool>("--resume") { Description = "Continue from <out>/<model>-n<obs>/checkpoint.bin." };
var poisson = new Option<bool>("--poisson")
{
    Description = "Latent ODE with a Poisson-process likelihood of the observation times (paper Fig. 7), on spirals observed more often in their upper half.",
};
var encodePrefix = new Option<double>("--encode-prefix")
{
    Description = "Latent ODE: each iteration the encoder reads only the first K of the n observations, K drawn from ceil(F*n) to n, while the ELBO's likelihood covers all n, so training also forecasts (Rubanova et al. 2019's extrapolation training). 1: the paper's objective.",
    DefaultValueFactory = _ => 1.0,
};
var klWeight = new Option<double>("--kl-weight")
{
    Description = "Latent ODE: beta of loss = -log p(x|z) + beta*KL(q(z0)||N(0,I)); 1 is the ELBO (the paper), beta > 1 the beta-VAE.",
    DefaultValueFactory = _ => 1.0,
};
var consistency = new Option<double>("--consistency")
{
    Description = "Latent ODE: weight g of a latent-consistency term g/2*|z(t_m) - mu(suffix)|^2 (the state reached at a random observation m against the encoder's z0 for the rest of the window); 0: none (the paper).",
    DefaultValueFactory = _ => 0.0,
};
var consistencySplits = new Option<string>("--consistency-splits")
{
    Description = "Latent ODE with --consistency: shared (one split observation m a step for all trajectories) or each (every trajectory its own m every step).",
    DefaultValueFactory = _ => "shared",
};
consistencySplits.AcceptOnlyFromAmong("shared", "each");
var distributed = new Option<bool>("--distributed")
{
    Description = "Data-parallel over MPI (start with mpirun -np N): each rank trains on its shard of the trajectories; rank 0 evaluates and writes the output. Needs Open MPI.",
};

var root = new RootCommand("Latent ODE vs RNN on irregularly sampled spirals (Chen et al. 2018, Table 2, Figures 6–9).")
{
    quick, observations, model, field, iterations, lr, schedule, gradient, rtol, atol, seed, outDir, evalEvery, resume, poisson, encodePrefix, klWeight, consistency, consistencySplits, distributed,
};
root.SetAction(pr =>
{
    bool q = pr.GetValue(quick);
    int iters = pr.GetValue(iterations) ?? (q ? 300 : 2000);
    if (iters < 1 || !(pr.GetValue(lr) > 0) || pr.GetValue(evalEvery) < 1 || !(pr.GetValue(rtol) > 0) || !(pr.GetValue(atol) > 0))
    {
        Console.Error.WriteLine("--iterations and --eval-every must be ≥ 1; --lr, --rtol and --atol positive.");
        return 2;
    }
    if (pr.GetValue(poisson) && (pr.GetValue(model) != "latent-ode" || pr.GetValue(field) != "paper"))
    {
        Console.Error.WriteLine("--poisson goes with --model latent-ode and --field paper.");
        return 2;
    }
    if (!(pr.GetValue(encodePrefix) is > 0 and <= 1) || (pr.GetValue(encodePrefix) < 1 && pr.GetValue(model) != "latent-ode"))
    {
        Console.Error.WriteLine("--encode-prefix takes a fraction in (0, 1] and goes with --model latent-ode.");
        return 2;
    }
    if (!(pr.GetValue(klWeight) > 0 && double.IsFinite(pr.GetValue(klWeight))) || (pr.GetValue(klWeight) != 1 && pr.GetValue(model) != "latent-ode"))
    {
        Console.Error.WriteLine("--kl-weight takes a positive number and goes with --model latent-ode.");
        return 2;
    }
    if (!(pr.GetValue(consistency) >= 0 && double.IsFinite(pr.GetValue(consistency))) || (pr.GetValue(consistency) > 0 && (pr.GetValue(model) != "latent-ode" || pr.GetValue(poisson)))
        || (pr.GetValue(consistencySplits) != "shared" && !(pr.GetValue(consistency) > 0)))
    {
        Console.Error.WriteLine("--consistency takes a number ≥ 0 and goes with --model latent-ode, without --poisson; --consistency-splits needs --consistency.");
        return 2;
    }
    var settings = new RunSettings(pr.GetValue(model)!, pr.GetValue(field)!, pr.GetValue(observations), iters, 1000, q ? 200 : 1000,
        pr.GetValue(lr), pr.GetValue(gradient)!, pr.GetValue(rtol), pr.GetValue(atol), pr.GetValue(seed), pr.GetValue(outDir)!,
        pr.GetValue(evalEvery), pr.GetValue(resume), q) { Poisson = pr.GetValue(poisson), Schedule = pr.GetValue(schedule)!, EncodePrefix = pr.GetValue(encodePrefix), KlWeight = pr.GetValue(klWeight), Consistency = pr.GetValue(consistency),
        ConsistencySplits = pr.GetValue(consistencySplits)! };
    if (!pr.GetValue(distributed)) return Finish(settings, Trainer.Run(settings)!);
    ProcessGroup group;
    try { group = ProcessGroup.InitializeMpi(); }
    catch (MpiUnavailableException e) { Console.Error.WriteLine(e.Message); return 2; }
    using (group)
    {
        if (settings.TrainSpirals < group.Size)
        {
            if (group.IsRoot) Console.Error.WriteLine($"{settings.TrainSpirals} trajectories cannot be shared by {group.Size} ranks.");
            return 2;
        }
        RunSummary? summary;
        try { summary = Trainer.Run(settings with { Group = group }); }
        catch (TrainingStoppedException e) { return e.ExitCode; }
        return summary is null ? 0 : Finish(settings, summary); // only rank 0 has a summary
    }
});

static int Finish(RunSettings settings, RunSummary summary)
{
    Console.WriteLine($"{summary.Model} n={summary.Observations}: extrapolation RMSE {summary.ExtrapolationRmse:F4}, reconstruction RMSE {summary.ReconstructionRmse:F4} after {summary.Iterations} iterations ({summary.Seconds:F0} s)");
    Console.WriteLine($"table: {Report.WriteTable(settings.OutDir)}");
    if (settings.Model == "latent-ode") Console.WriteLine($"figures: {string.Join(", ", Figures.Write(settings))}");
    return 0;
}

var tableCommand = new Command("table", "Write <out>/table2.md from the runs' summary.json files.") { outDir };
tableCommand.SetAction(pr => { Console.WriteLine(Report.WriteTable(pr.GetValue(outDir)!)); return 0; });
root.Subcommands.Add(tableCommand);

var benchSamples = new Option<int>("--batch") { Description = "Trajectories.", DefaultValueFactory = _ => 256 };
var benchRepeats = new Option<int>("--repeats") { Description = "Interleaved repetitions (the median is reported).", DefaultValueFactory = _ => 5 };
var benchTimes = new Option<string>("--times") { Description = "grid (n of the window's 100 points), uniform, or both.", DefaultValueFactory = _ => "both" };
benchTimes.AcceptOnlyFromAmong("grid", "uniform", "both");
var benchCommand = new Command("bench-times", "Per-sample output times vs the union grid vs one solve per sample (forward + gradient).") { benchSamples, benchRepeats, observations, benchTimes };
benchCommand.SetAction(pr => TimesBenchmark.Run(pr.GetValue(benchSamples), pr.GetValue(observations), pr.GetValue(benchRepeats), pr.GetValue(benchTimes)!));
root.Subcommands.Add(benchCommand);

var runDir = new Option<string>("--run") { Description = "A latent ODE run's folder (with checkpoint.bin).", Required = true };
var breakdownCommand = new Command("breakdown", "Where a latent ODE run's extrapolation error sits: by direction and window start, and the worst 5 % of test trajectories.")
{
    runDir, field, observations, seed,
};
breakdownCommand.SetAction(pr => Breakdown.Run(pr.GetValue(runDir)!, pr.GetValue(field)!, pr.GetValue(observations), pr.GetValue(seed)));
root.Subcommands.Add(breakdownCommand);

return root.Parse(args).Invoke();
