using System.Collections.Concurrent;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Every sensitivity mode against central finite differences of an independent fine-grid RK4 reference, and against
/// each other: dL/dh(t₀), dL/dθ and dL/dtᵢ, for Lotka-Volterra and the time-dependent MLP field, a loss on the last
/// output time or on all of them, and time running forwards or backwards. Double precision, tolerances 1e-12.
/// </summary>
public class GradientAgreementTests
{
    public enum Mode { Backprop, BackpropReplay, Adjoint, AdjointSeminorm, Checkpointed, CheckpointedSeminorm }
    public enum SystemKind { LotkaVolterra, Mlp }

    private const double Tolerance = 1e-6;
    private static readonly SolveOptions<double> Tight = new() { RelTol = 1e-12, AbsTol = 1e-12 };

    public static TheoryData<Mode, SystemKind, bool, bool> Cases()
    {
        var data = new TheoryData<Mode, SystemKind, bool, bool>();
        foreach (var mode in Enum.GetValues<Mode>())
            foreach (var system in Enum.GetValues<SystemKind>())
                foreach (bool allTimes in new[] { false, true })
                    foreach (bool reverse in new[] { false, true })
                        data.Add(mode, system, allTimes, reverse);
        return data;
    }

    internal static OdeDsl.Sensitivity Sensitivity(Mode mode) => mode switch
    {
        Mode.Backprop => OdeDsl.Sensitivity.Backprop,
        Mode.BackpropReplay => BackpropSensitivity.Replaying,
        Mode.Adjoint => OdeDsl.Sensitivity.Adjoint(),
        Mode.AdjointSeminorm => OdeDsl.Sensitivity.Adjoint(new AdjointOptions { Seminorm = true }),
        Mode.Checkpointed => OdeDsl.Sensitivity.CheckpointedAdjoint(3),
        Mode.CheckpointedSeminorm => OdeDsl.Sensitivity.CheckpointedAdjoint(3, new AdjointOptions { Seminorm = true }),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ModeMatchesFiniteDifferences(Mode mode, SystemKind system, bool allTimes, bool reverse)
    {
        var problem = Problem.Create(system, allTimes, reverse);
        var expected = problem.FiniteDifferences();
        var actual = problem.Gradient(Sensitivity(mode), Tight);

        double eY0 = Reference.RelativeError(actual.InitialState, expected.Y0);
        double eTheta = Reference.RelativeError(actual.Theta, expected.Theta);
        double eTimes = Reference.RelativeError(actual.Times, expected.Times);
        Assert.True(Math.Max(eY0, Math.Max(eTheta, eTimes)) <= Tolerance,
            $"relative errors: dL/dh0 {eY0:E2}, dL/dθ {eTheta:E2}, dL/dt {eTimes:E2}");
        Assert.True(actual.Forward.FunctionEvaluations > 0 && actual.Backward.FunctionEvaluations > 0);
    }

    [Theory]
    [InlineData(SystemKind.LotkaVolterra)]
    [InlineData(SystemKind.Mlp)]
    public void AllModesAgreeWithEachOther(SystemKind system)
    {
        var problem = Problem.Create(system, allTimes: true, reverse: false);
        var backprop = problem.Gradient(OdeDsl.Sensitivity.Backprop, Tight);
        foreach (var mode in Enum.GetValues<Mode>().Where(m => m != Mode.Backprop))
        {
            var other = problem.Gradient(Sensitivity(mode), Tight);
            Assert.True(Reference.RelativeError(other.Theta, backprop.Theta) <= Tolerance, $"{mode} dL/dθ");
            Assert.True(Reference.RelativeError(other.InitialState, backprop.InitialState) <= Tolerance, $"{mode} dL/dh0");
            Assert.True(Reference.RelativeError(other.Times, backprop.Times) <= Tolerance, $"{mode} dL/dt");
        }
    }

    [Theory]
    [InlineData(1)]    // one segment: the whole solve re-run with dense output
    [InlineData(5)]    // bounds fall on output times (0.4, 0.8, …)
    [InlineData(12)]   // more segments than output intervals
    public void CheckpointedAdjointAgreesForAnyNumberOfCheckpoints(int checkpoints)
    {
        foreach (bool reverse in new[] { false, true })
        {
            var problem = Problem.Create(SystemKind.LotkaVolterra, allTimes: true, reverse);
            var expected = problem.FiniteDifferences();
            var actual = problem.Gradient(OdeDsl.Sensitivity.CheckpointedAdjoint(checkpoints), Tight);
            Assert.True(Reference.RelativeError(actual.Theta, expected.Theta) <= Tolerance, $"dL/dθ, reverse {reverse}");
            Assert.True(Reference.RelativeError(actual.InitialState, expected.Y0) <= Tolerance, $"dL/dh0, reverse {reverse}");
            Assert.True(Reference.RelativeError(actual.Times, expected.Times) <= Tolerance, $"dL/dt, reverse {reverse}");
        }
    }

    /// <summary>One gradient problem: a batch of two initial states, six output times, a linear loss.</summary>
    internal sealed record Problem(SystemKind System, double[] Y0, double[] Times, double[] Theta, double[] Weights, int Substeps)
    {
        private static readonly ConcurrentDictionary<(SystemKind, bool, bool), (double[], double[], double[])> FdCache = new();
        private bool AllTimes => Weights[0] != 0;   // Reference.Weights fills t₀ only for the all-times loss

        public static Problem Create(SystemKind system, bool allTimes, bool reverse)
        {
            double[] times = Enumerable.Range(0, 6).Select(i => 0.4 * i).ToArray();
            if (reverse) Array.Reverse(times);
            return system switch
            {
                SystemKind.LotkaVolterra => new(system, [1.0, 0.8, 1.3, 0.5], times, LotkaVolterra.DefaultTheta, Reference.Weights(6, 4, allTimes, 5), 200),
                _ => new(system, [0.6, -0.4, -0.3, 0.9], times, MlpField.SeededTheta(7), Reference.Weights(6, 4, allTimes, 6), 60),
            };
        }

        public (double[] Y0, double[] Theta, double[] Times) FiniteDifferences()
            => FdCache.GetOrAdd((System, AllTimes, Times[0] > Times[^1]), _ => System == SystemKind.LotkaVolterra
                ? Reference.FiniteDifferences<LotkaVolterra>((double[])Y0.Clone(), (double[])Times.Clone(), (double[])Theta.Clone(), Weights, Substeps)
                : Reference.FiniteDifferences<MlpField>((double[])Y0.Clone(), (double[])Times.Clone(), (double[])Theta.Clone(), Weights, Substeps));

        public OdeGradients<double> Gradient(OdeDsl.Sensitivity sensitivity, SolveOptions<double> options) => System == SystemKind.LotkaVolterra
            ? Ode.Gradient<LotkaVolterra, double>(Y0, Times, Theta, Weights, sensitivity, options)
            : Ode.Gradient<MlpField, double>(Y0, Times, Theta, Weights, sensitivity, options);
    }
}
