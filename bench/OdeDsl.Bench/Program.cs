using System.CommandLine;
using BenchmarkDotNet.Running;
using OdeDsl.Bench.Commands;

// The benchmark driver: one subcommand per benchmark, each built by a static factory in Commands/.
// To add one, append a line to `commands` below.
var root = new RootCommand("OdeDsl benchmarks: DETEST solver quality, micro-benchmarks, and experiment drivers.");

Command[] commands =
[
    DetestCommand.Create(),
    DetestReferenceCommand.Create(),
    MicroCommand(),
    SpiralCommand.Create(),
    MemoryCommand.Create(),
    TanhTimingCommand.Create(),
    SpiralOpsCommand.Create(),
    MpiReduceCommand.Create(),
    AugmentedTimingCommand.Create(),
    CnfStepCommand.Create(),
    GpuEnsembleCommand.Create(),
    GpuCheckCommand.Create(),
    MnistStepCommand.Create(),
    ConvKernelsCommand.Create(),
];
foreach (var command in commands) root.Subcommands.Add(command);

return root.Parse(args).Invoke();

// `micro [BenchmarkDotNet args…]`: hands everything after the command name to BenchmarkDotNet's switcher.
static Command MicroCommand()
{
    var rest = new Argument<string[]>("benchmarkdotnet-args") { Description = "Arguments for BenchmarkDotNet (e.g. --filter '*' --job short).", Arity = ArgumentArity.ZeroOrMore };
    var micro = new Command("micro", "Run the BenchmarkDotNet micro-benchmarks in this assembly.") { rest };
    micro.TreatUnmatchedTokensAsErrors = false;
    micro.SetAction(result =>
    {
        string[] forwarded = [.. result.GetValue(rest) ?? [], .. result.UnmatchedTokens];
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(forwarded);
        return 0;
    });
    return micro;
}
