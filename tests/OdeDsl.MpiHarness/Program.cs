using OdeDsl.MpiHarness;
using OdeDsl.Training.Distributed;

// mpirun -np 2 dotnet OdeDsl.MpiHarness.dll --distributed --out DIR [--steps k --batch B --reduction allreduce
//   --checkpoint-every c --resume --fault nan|kill --fault-rank r --fault-step s]; without --distributed: one process.
var options = HarnessOptions.Parse(args);
using var group = options.Distributed ? ProcessGroup.InitializeMpi() : ProcessGroup.Single;
var dp = new DataParallel<double>(group, HarnessField.Dynamics.ParameterCount, options.Reduction);
return dp.RunGuarded(() =>
{
    HarnessTrainer.Run(options, dp);
    if (group.IsRoot) Console.WriteLine($"done: {options.Steps} steps on {group.Description}");
    return 0;
});
