using System.Numerics;

namespace OdeDsl;

public static partial class Ode
{
    /// <summary>
    /// <see cref="Forward{TDynamics, T}"/> for a batch in which every sample has its own output times (irregular, any
    /// count): one shared solve from t₀ to the latest time, each sample's outputs read from its own row of the step
    /// interpolant (see <see cref="SolveAtSampleTimes{TRhs, T}"/>). <see cref="Sensitivity.Backprop"/> differentiates
    /// that interpolant row by row in its one reverse sweep; <see cref="Sensitivity.Adjoint"/> integrates each sample's
    /// [h, a] backwards with its own steps, stopping only at its own times, all samples in one batched evaluation per
    /// step stage (error control: the seminorm). The checkpointed adjoint is not supported here.
    /// </summary>
    public static SampleTimesForward<TDynamics, T> ForwardAtSampleTimes<TDynamics, T>(ReadOnlySpan<T> y0, SampleTimes<T> times, T[] theta,
        Sensitivity sensitivity, SolveOptions<T>? options = null)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(sensitivity);
        options ??= new SolveOptions<T>();
        CheckSampleTimes(TDynamics.StateSize, y0, times, options);
        if (theta.Length != TDynamics.ParameterCount)
            throw new ArgumentException($"{typeof(TDynamics).Name} has {TDynamics.ParameterCount} parameters but θ has {theta.Length} elements.", nameof(theta));
        if (sensitivity is not (BackpropSensitivity or AdjointSensitivity))
            throw new NotSupportedException($"Per-sample output times support Sensitivity.Backprop and Sensitivity.Adjoint, not {sensitivity}.");
        if (sensitivity is AdjointSensitivity { Options: var adjoint } && (adjoint.Method ?? options.Method) is not RungeKuttaMethod)
            throw new NotSupportedException($"The per-sample adjoint's backward solve needs a Runge-Kutta method, not {(adjoint.Method ?? options.Method).Name}; " +
                                            "set AdjointOptions.Method (e.g. Methods.Dopri5).");
        return new SampleTimesForward<TDynamics, T>(y0.ToArray(), times, (T[])theta.Clone(), sensitivity, options);
    }
}

/// <summary>
/// A differentiable per-sample-times solve: <see cref="States"/> in the ragged order of <see cref="SampleTimes{T}"/>, and
/// <see cref="Backward"/> for the loss cotangents in the same order.
/// </summary>
public sealed class SampleTimesForward<TDynamics, T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _theta;
    private readonly SolveOptions<T> _options;
    private readonly OdeForward<TDynamics, T>? _backprop; // the tape (backprop), null otherwise
    private readonly RowOutputs? _rows;                   // backprop: each output's step and fraction of it

    internal SampleTimesForward(T[] y0, SampleTimes<T> times, T[] theta, Sensitivity sensitivity, SolveOptions<T> options)
    {
        (Times, _theta, Sensitivity, _options) = (times, theta, sensitivity, options);
        int S = TDynamics.StateSize;
        if (times.End == times.Start)
        {
            (States, ForwardStats) = Ode.SolveKeepingInterpolant(new DynamicsRhs<TDynamics, T>(theta, times.Batch), y0, times, options, out _);
            return;
        }
        if (sensitivity is BackpropSensitivity)
        {
            var problem = new ForwardProblem<T> { InitialState = y0, Times = [times.Start, times.End], Theta = theta, Batch = times.Batch, Options = options };
            _backprop = sensitivity.Forward<TDynamics, T>(problem);
            var tape = (BackpropSensitivity.Tape<T>)_backprop.Record!;
            _rows = new RowOutputs(tape, times, S);
            States = _rows.Interpolate(tape);
            ForwardStats = _backprop.ForwardStats;
        }
        else
        {
            (States, ForwardStats) = Ode.SolveKeepingInterpolant(new DynamicsRhs<TDynamics, T>(theta, times.Batch), y0, times, options, out _);
        }
    }

    public Sensitivity Sensitivity { get; }
    public SampleTimes<T> Times { get; }

    /// <summary>[Times.Count, StateSize]: sample b's i-th output is row Times.Offset(b) + i.</summary>
    public T[] States { get; }

    /// <summary>Work of the forward pass (for backprop including any replay).</summary>
    public SolverStats ForwardStats { get; }

    /// <summary>
    /// Gradients for loss cotangents dL/dStates, [Times.Count, StateSize] in the ragged order. The returned
    /// <see cref="OdeGradients{T}.Times"/> is empty: gradients with respect to per-sample times are not computed.
    /// </summary>
    public OdeGradients<T> Backward(ReadOnlySpan<T> dLdStates)
    {
        int S = TDynamics.StateSize, n = Times.Batch * S;
        if (dLdStates.Length != Times.Count * S)
            throw new ArgumentException($"dL/dStates has {dLdStates.Length} elements; expected Times.Count × StateSize = {Times.Count} × {S}.", nameof(dLdStates));
        if (Times.End == Times.Start)
        {
            var direct = new T[n];
            for (int o = 0; o < Times.Count; o++) AdjointShared.AddTo(direct.AsSpan(Times.SampleOf(o) * S, S), dLdStates.Slice(o * S, S));
            return new OdeGradients<T>(direct, new T[TDynamics.ParameterCount], Array.Empty<T>(), ForwardStats, new SolverStats(0, 0, 0));
        }
        return _backprop is not null ? BackwardThroughTape(dLdStates) : BackwardAdjoint(dLdStates);
    }

    private OdeGradients<T> BackwardThroughTape(ReadOnlySpan<T> dLdStates)
    {
        var tape = (BackpropSensitivity.Tape<T>)_backprop!.Record!;
        var outputs = new RowCotangents(_rows!, tape, Times.Batch * TDynamics.StateSize);
        var (yBar, thetaBar, _, vjps) = BackpropSensitivity.ReverseSweep<TDynamics, T>(tape, _theta, Times.Batch, outputs, dLdStates);
        return new OdeGradients<T>(yBar, thetaBar, Array.Empty<T>(), ForwardStats, new SolverStats(vjps, tape.StepSize.Length, 0));
    }

    /// <summary>Per-sample stepping backwards (<see cref="SampleTimesAdjoint{TDynamics, T}"/>): each sample stops only at its own times.</summary>
    private OdeGradients<T> BackwardAdjoint(ReadOnlySpan<T> dLdStates)
    {
        var adjoint = ((AdjointSensitivity)Sensitivity).Options;
        // The rows' error norm is SampleTimesAdjoint's own (the seminorm over each row's h and a), not the options' Norm.
        var backOptions = AdjointShared.BackwardOptions<T>(_options, adjoint, static _ => T.Zero);
        var solver = new SampleTimesAdjoint<TDynamics, T>(Times, _theta, States, backOptions, adjoint.StateGroups);
        var (yBar, thetaBar, stats) = solver.Run(dLdStates);
        return new OdeGradients<T>(yBar, thetaBar, Array.Empty<T>(), ForwardStats, stats);
    }

    /// <summary>For backprop: each output's step on the tape and its fraction θ of it, and the outputs grouped by step.</summary>
    private sealed class RowOutputs
    {
        public readonly int[] Step;
        public readonly T[] Theta;
        public readonly int[] ByStep;      // output indices ordered by step
        public readonly int[] StepOffset;  // ByStep[StepOffset[j] .. StepOffset[j + 1]) are step j's outputs
        private readonly SampleTimes<T> _times;
        private readonly int _S;

        public RowOutputs(BackpropSensitivity.Tape<T> tape, SampleTimes<T> times, int stateSize)
        {
            _times = times; _S = stateSize;
            int m = tape.StepSize.Length, count = times.Count;
            Step = new int[count]; Theta = new T[count];
            StepOffset = new int[m + 1];
            for (int o = 0; o < count; o++)
            {
                T t = times.All[o];
                // Last step starting at or before t (forward solve: starts increase); the last step takes any rounding overshoot.
                int lo = 0, hi = m - 1;
                while (lo < hi)
                {
                    int mid = (lo + hi + 1) / 2;
                    if (tape.StepStart[mid] <= t) lo = mid; else hi = mid - 1;
                }
                Step[o] = lo;
                Theta[o] = T.Clamp((t - tape.StepStart[lo]) / tape.StepSize[lo], T.Zero, T.One);
                StepOffset[lo + 1]++;
            }
            for (int j = 0; j < m; j++) StepOffset[j + 1] += StepOffset[j];
            ByStep = new int[count];
            var fill = (int[])StepOffset.Clone();
            for (int o = 0; o < count; o++) ByStep[fill[Step[o]]++] = o;
        }

        public T[] Interpolate(BackpropSensitivity.Tape<T> tape)
        {
            int S = _S, s = tape.Scheme.Stages, n = _times.Batch * S;
            var states = new T[_times.Count * S];
            var w = new T[s]; var dw = new T[s];
            for (int o = 0; o < _times.Count; o++)
            {
                int j = Step[o], row = _times.SampleOf(o) * S;
                var dst = states.AsSpan(o * S, S);
                tape.Stages.Y(j).Slice(row, S).CopyTo(dst);
                tape.Scheme.InterpolationWeights(Theta[o], w, dw);
                var k = tape.Stages.K(j);
                for (int i = 0; i < s; i++)
                    if (w[i] != T.Zero) BackpropSensitivity.Axpy(tape.StepSize[j] * w[i], k.Slice(i * n + row, S), dst, overwrite: false);
            }
            return states;
        }

        public int Row(int output) => _times.SampleOf(output) * _S;
    }

    /// <summary>Step j's outputs add their cotangent to their own row of ∂L/∂y_j and ∂L/∂k_i only.</summary>
    private sealed class RowCotangents(RowOutputs rows, BackpropSensitivity.Tape<T> tape, int n) : BackpropSensitivity.IOutputCotangents<T>
    {
        private readonly T[] _w = new T[tape.Scheme.Stages], _dw = new T[tape.Scheme.Stages];

        public void AddStep(int j, T h, ReadOnlySpan<T> k, Span<T> yBar, Span<T> kBar, ReadOnlySpan<T> g)
        {
            int S = TDynamics.StateSize, s = tape.Scheme.Stages;
            for (int q = rows.StepOffset[j]; q < rows.StepOffset[j + 1]; q++)
            {
                int o = rows.ByStep[q], row = rows.Row(o);
                ReadOnlySpan<T> go = g.Slice(o * S, S);
                tape.Scheme.InterpolationWeights(rows.Theta[o], _w, _dw);
                AdjointShared.AddTo(yBar.Slice(row, S), go);
                for (int i = 0; i < s; i++)
                    if (_w[i] != T.Zero) BackpropSensitivity.Axpy(h * _w[i], go, kBar.Slice(i * n + row, S), overwrite: false);
            }
        }
    }
}
