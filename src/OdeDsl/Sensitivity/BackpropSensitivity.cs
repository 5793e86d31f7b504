using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl;

/// <summary>
/// Backpropagation through the solver (discretise-then-optimise, the paper's "RK-Net"). The forward solve records its
/// accepted steps; they are replayed with the method's tableau, storing y_n and every stage k_i (the tape, linear in
/// steps); the backward pass runs each step's transpose with the VJP at every stage, and the VJP of the dense
/// interpolant for the output times. The result is the exact gradient of the numerical solution with the accepted
/// step sequence held fixed (step-size control is not differentiated, as in torchdiffeq and diffrax).
/// When the solver's dense output already keeps every step's y_n and stages (<see cref="IStepStages{T}"/>), that is the
/// tape and nothing is replayed. Dynamics that keep activations (<see cref="IOdeDynamics{TSelf}.KeptPerRow"/>, the CNF's
/// MLP fields) keep them from every forward evaluation (<see cref="ActivationLog{T}"/>), and each stage's VJP starts from
/// them instead of recomputing the stage's forward pass: the same gradient, bit for bit, with less work.
/// </summary>
/// <param name="alwaysReplay">Ignore the stages kept by the solver and replay the steps.</param>
/// <param name="maxKeptBytes">The most memory a solve's kept activations take (0: none are kept).</param>
internal sealed class BackpropSensitivity(bool alwaysReplay, long maxKeptBytes = BackpropSensitivity.DefaultKeptBytes) : Sensitivity
{
    /// <summary>
    /// Kept activations per solve, at most: about 990 evaluations of the CNF bench's 512-row MLP field (270 KB each in
    /// float32 with the state and times; its training step takes 50). A longer solve keeps its first evaluations and
    /// recomputes the rest.
    /// </summary>
    internal const long DefaultKeptBytes = 256L << 20;

    /// <summary>Ignores stages kept by the solver and replays the steps (tests check the two paths agree).</summary>
    internal static BackpropSensitivity Replaying { get; } = new(alwaysReplay: true, maxKeptBytes: 0);

    /// <summary>Recomputes every stage's forward in the reverse sweep even where the dynamics could keep it (tests compare).</summary>
    internal static BackpropSensitivity Recomputing { get; } = new(alwaysReplay: false, maxKeptBytes: 0);

    public override string ToString() => alwaysReplay ? "backprop (replay)" : maxKeptBytes > 0 ? "backprop" : "backprop (recompute)";

    internal sealed class Tape<T>(RkScheme<T> scheme, T[] stepStart, T[] stepSize, IStepStages<T> stages, int[] outputStep, T[] outputTheta,
        ActivationLog<T>? activations = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>What the forward evaluations kept, or null (the sweep recomputes every stage's forward).</summary>
        public ActivationLog<T>? Activations { get; } = activations;
        public RkScheme<T> Scheme { get; } = scheme;
        public T[] StepStart { get; } = stepStart;
        public T[] StepSize { get; } = stepSize;
        /// <summary>y_n and the stages of every accepted step.</summary>
        public IStepStages<T> Stages { get; } = stages;
        /// <summary>Per output time: the step whose interpolant produces it and the fraction θ ∈ [0, 1] of that step.</summary>
        public int[] OutputStep { get; } = outputStep;
        public T[] OutputTheta { get; } = outputTheta;
        /// <summary>The outputs as the tape reproduces them, [nTimes, batch·S] (tests compare them with the solver's).</summary>
        public T[] States(int n) => _states ??= InterpolateOutputs(this, n);
        private T[]? _states;
    }

    internal override OdeForward<TDynamics, T> Forward<TDynamics, T>(ForwardProblem<T> problem)
    {
        var scheme = RkScheme<T>.For(problem.Options.Method);
        int batch = problem.Batch, s = scheme.Stages;
        var options = AdjointShared.ForwardOptions(problem.Options, recordSteps: true, keepDenseOutput: true);
        ActivationLog<T>? log = null;
        Solution<T> solution;
        if (maxKeptBytes > 0 && !alwaysReplay && TDynamics.KeptPerRow > 0)
        {
            var keeping = new KeepingRhs<TDynamics, T>(problem.Theta, batch, maxKeptBytes);
            log = keeping.Log;
            solution = Ode.Solve(keeping, problem.InitialState, problem.Times, options);
        }
        else solution = Ode.Solve(new DynamicsRhs<TDynamics, T>(problem.Theta, batch), problem.InitialState, problem.Times, options);
        AdjointShared.EnsureSucceeded(solution, "forward solve");
        var steps = solution.Steps ?? throw new InvalidOperationException("The solver did not record its steps.");
        int m = steps.Count;
        T[] stepStart = new T[m], stepSize = new T[m];
        for (int j = 0; j < m; j++) (stepStart[j], stepSize[j]) = (steps[j].Start, steps[j].Size);

        long replayed = 0;
        IStepStages<T> stages;
        if (!alwaysReplay && solution.Dense is IStepStages<T> kept && kept.Count == m && kept.Stages >= s)
            stages = kept;
        else
        {
            stages = Replay<TDynamics, T>(problem, scheme, stepStart, stepSize);
            replayed = (long)m * s;
        }

        var (outputStep, outputTheta) = LocateOutputs(problem.Times, stepStart, stepSize);
        var tape = new Tape<T>(scheme, stepStart, stepSize, stages, outputStep, outputTheta, log);
        var stats = new SolverStats(solution.Stats.FunctionEvaluations + replayed, solution.Stats.AcceptedSteps, solution.Stats.RejectedSteps);
        return new OdeForward<TDynamics, T>(this, problem, solution, stats, tape);
    }

    internal override OdeGradients<T> Backward<TDynamics, T>(OdeForward<TDynamics, T> forward, ReadOnlySpan<T> dLdStates)
    {
        var problem = forward.Problem;
        var tape = (Tape<T>)forward.Record!;
        int n = problem.Batch * TDynamics.StateSize, nTimes = problem.Times.Length;
        var outputs = new SharedTimeCotangents<T>(tape, n, nTimes);
        var (yBar, thetaBar, t0Bar, vjps) = ReverseSweep<TDynamics, T>(tape, problem.Theta, problem.Batch, outputs, dLdStates);
        // The kept activations go back to their pool for the next step's forward; a second Backward recomputes them.
        tape.Activations?.Release();
        AdjointShared.AddTo(yBar, dLdStates.Slice(0, n));   // output t₀ is y₀ itself
        outputs.DLdTimes[0] = t0Bar + outputs.T0Bar;
        return new OdeGradients<T>(yBar, thetaBar, outputs.DLdTimes, forward.ForwardStats, new SolverStats(vjps, tape.StepSize.Length, 0));
    }

    internal override void Recycle<TDynamics, T>(OdeForward<TDynamics, T> forward)
    {
        var tape = (Tape<T>)forward.Record!;
        tape.Activations?.Release();
        (tape.Stages as DenseOutput<T>)?.Recycle();   // the solver's dense output, which held the stages (no replay)
    }

    /// <summary>
    /// Where a reverse sweep takes the loss cotangents of the outputs: step j's interpolant y(θ) = y_j + h Σ w_i(θ) k_i
    /// produced some outputs, and their cotangents are added into ∂L/∂y_j (<c>yBar</c>) and ∂L/∂k_i
    /// (<c>kBar</c>, [stages, batch·S]), read from the loss cotangents <c>dLdStates</c> in the
    /// implementation's layout. Shared output times touch every row; per-sample times only their own.
    /// </summary>
    internal interface IOutputCotangents<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        void AddStep(int j, T h, ReadOnlySpan<T> k, Span<T> yBar, Span<T> kBar, ReadOnlySpan<T> dLdStates);
    }

    /// <summary>Outputs at times the batch shares, dL/dStates [nTimes, batch·S]; also collects dL/dtᵢ.</summary>
    private sealed class SharedTimeCotangents<T> : IOutputCotangents<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Tape<T> _tape;
        private readonly int _n;
        private readonly T[] _w, _dw;
        private int _output;

        public SharedTimeCotangents(Tape<T> tape, int n, int nTimes)
        {
            _tape = tape; _n = n; _output = nTimes - 1;
            _w = new T[tape.Scheme.Stages]; _dw = new T[tape.Scheme.Stages];
            DLdTimes = new T[nTimes];
        }

        public T[] DLdTimes { get; }
        /// <summary>The outputs' share of dL/dt₀: the whole step grid shifts with t₀.</summary>
        public T T0Bar { get; private set; }

        public void AddStep(int j, T h, ReadOnlySpan<T> k, Span<T> yBar, Span<T> kBar, ReadOnlySpan<T> dLdStates)
        {
            int s = _tape.Scheme.Stages, n = _n;
            for (; _output >= 1 && _tape.OutputStep[_output] == j; _output--)
            {
                ReadOnlySpan<T> g = dLdStates.Slice(_output * n, n);
                _tape.Scheme.InterpolationWeights(_tape.OutputTheta[_output], _w, _dw);
                AdjointShared.AddTo(yBar, g);
                T dTheta = T.Zero;   // ∂y/∂θ · g summed, with θ = (tᵢ − t_j)/h, so ∂/∂tᵢ = (1/h) ∂/∂θ
                for (int i = 0; i < s; i++)
                {
                    Axpy(h * _w[i], g, kBar.Slice(i * n, n), overwrite: false);
                    if (_dw[i] != T.Zero) dTheta += _dw[i] * Dot(g, k.Slice(i * n, n));
                }
                DLdTimes[_output] = dTheta;
                T0Bar -= dTheta;
            }
        }
    }

    /// <summary>
    /// The transpose of the recorded steps, last to first, with the VJP at every stage: returns ∂L/∂y₀ (without a loss
    /// term read at y₀ itself), ∂L/∂θ, the stages' share of ∂L/∂t₀ and the number of VJPs.
    /// </summary>
    internal static (T[] YBar, T[] ThetaBar, T T0Bar, long Vjps) ReverseSweep<TDynamics, T>(Tape<T> tape, T[] theta, int batch,
        IOutputCotangents<T> outputs, ReadOnlySpan<T> dLdStates)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scheme = tape.Scheme;
        int n = batch * TDynamics.StateSize, s = scheme.Stages, m = tape.StepSize.Length;
        int last = s - 1;

        var yBar = new T[n];             // cotangent of y_{j+1}, then of y_j
        var kBar = new T[s * n];
        var firstStageBar = new T[n];    // cotangent of step j's first stage, handed to step j − 1's last stage (same evaluation)
        bool carried = false;
        var thetaBar = new T[TDynamics.ParameterCount];
        var stageState = new T[n];
        var stageBar = new T[n];
        var rowTimes = new T[batch];
        var gradT = new T[batch];
        // Dynamics with a fixed cost per call (ICoarseRowChunks: the CNF fields) split each VJP over two threads, one
        // chunk each, as the adjoint does (AdjointBatch); it takes the cotangent −a, so its outputs come back negated.
        var split = typeof(ICoarseRowChunks).IsAssignableFrom(typeof(TDynamics)) ? new AdjointBatch<TDynamics, T>(theta, batch) : null;
        if (split is not null && split.Chunks < 2) split = null;
        var thetaPart = split is null ? [] : new T[TDynamics.ParameterCount];
        var workspace = split is null ? new T[TDynamics.WorkspaceLength(batch)] : [];
        // Kept activations are laid out per call of the dynamics: usable when the sweep's calls cover the same rows.
        var kept = tape.Activations is { } log && log.RowsPerChunk == (split?.RowsPerChunk ?? batch) ? log : null;
        T t0Bar = T.Zero;
        long vjps = 0;
        for (int j = m - 1; j >= 0; j--)
        {
            T h = tape.StepSize[j];
            ReadOnlySpan<T> y = tape.Stages.Y(j), k = tape.Stages.K(j);
            // y_{j+1} = y_j + h Σ b_i k_i.
            for (int i = 0; i < s; i++)
                Axpy(h * scheme.B[i], yBar, kBar.AsSpan(i * n, n), overwrite: true);
            if (carried)
            {
                AdjointShared.AddTo(kBar.AsSpan(last * n, n), firstStageBar);
                carried = false;
            }
            outputs.AddStep(j, h, k, yBar, kBar, dLdStates);
            // Stages in reverse: k_i = f(t_j + c_i h, y_j + h Σ_{l<i} a_il k_l).
            for (int i = s - 1; i >= 0; i--)
            {
                Span<T> kiBar = kBar.AsSpan(i * n, n);
                if (IsZero(kiBar)) continue;
                if (i == 0 && j > 0 && SharesFirstStage(tape, j))
                {
                    // k_0 of step j = f(t_j, y_j) is step j − 1's last stage: its VJP there covers both cotangents (the VJP is
                    // linear in the cotangent, and a_last = b routes it to y_{j−1} and the stages exactly as y_j would).
                    kiBar.CopyTo(firstStageBar);
                    carried = true;
                    continue;
                }
                scheme.StageState(i, h, y, k, stageState);
                T stageTime = tape.StepStart[j] + scheme.C[i] * h;
                // The forward's evaluation at exactly this time and state, if it kept its activations.
                ReadOnlySpan<T> stageKept = kept is null ? default : kept.Find(stageTime, stageState);
                if (split is not null)
                {
                    t0Bar -= stageKept.IsEmpty
                        ? split.Evaluate(stageTime, stageState, kiBar, default, stageBar, thetaPart)
                        : split.EvaluateFromKept(stageTime, stageState, stageKept, kiBar, stageBar, thetaPart);
                    TensorPrimitives.Negate<T>(stageBar, stageBar);
                    TensorPrimitives.Subtract<T>(thetaBar, thetaPart, thetaBar);
                }
                else
                {
                    rowTimes.AsSpan().Fill(stageTime);
                    if (stageKept.IsEmpty)
                        TDynamics.VectorJacobianProduct(rowTimes, stageState, theta, kiBar, stageBar, thetaBar, gradT, batch, workspace);
                    else
                        TDynamics.VectorJacobianProductFromKept(rowTimes, stageState, theta, stageKept, kiBar, stageBar, thetaBar, gradT, batch, workspace);
                    foreach (T gt in gradT) t0Bar += gt;
                }
                vjps++;
                AdjointShared.AddTo(yBar, stageBar);
                for (int l = 0; l < i; l++)
                {
                    T a = scheme.A[i * s + l];
                    if (a != T.Zero) Axpy(h * a, stageBar, kBar.AsSpan(l * n, n), overwrite: false);
                }
            }
        }
        return (yBar, thetaBar, t0Bar, vjps);
    }

    /// <summary>
    /// Whether step j's first stage is the same evaluation as step j − 1's last: the scheme's last stage is f(t_n + h, y_{n+1})
    /// and step j starts exactly where step j − 1 evaluated it (so the VJP sees the same t as well as the same state).
    /// </summary>
    private static bool SharesFirstStage<T>(Tape<T> tape, int j) where T : unmanaged, IFloatingPointIeee754<T>
        => tape.Scheme.LastStageIsNextFirst
           && tape.StepStart[j] == tape.StepStart[j - 1] + tape.Scheme.C[tape.Scheme.Stages - 1] * tape.StepSize[j - 1];

    /// <summary>Re-runs the recorded steps with the tableau, keeping y_n and the stages (for solvers that keep no stages).</summary>
    private static ContiguousStepStages<T> Replay<TDynamics, T>(ForwardProblem<T> problem, RkScheme<T> scheme, T[] stepStart, T[] stepSize)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = problem.Batch, n = batch * TDynamics.StateSize, s = scheme.Stages, m = stepSize.Length;
        var stages = new ContiguousStepStages<T>(m, s, n);
        var y = problem.InitialState.ToArray();
        var stageState = new T[n];
        var rowTimes = new T[batch];
        var workspace = new T[TDynamics.WorkspaceLength(batch)];
        for (int j = 0; j < m; j++)
        {
            y.CopyTo(stages.YMemory(j));
            Span<T> k = stages.KMemory(j);
            T h = stepSize[j];
            for (int i = 0; i < s; i++)
            {
                scheme.StageState(i, h, y, k, stageState);
                rowTimes.AsSpan().Fill(stepStart[j] + scheme.C[i] * h);
                TDynamics.Evaluate(rowTimes, stageState, problem.Theta, k.Slice(i * n, n), batch, workspace);
            }
            scheme.Advance(h, k, y);
        }
        return stages;
    }

    /// <summary>The outputs recomputed from the tape (equal to the solver's up to rounding; tests compare them).</summary>
    internal static T[] TapeStates<TDynamics, T>(OdeForward<TDynamics, T> forward)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
        => ((Tape<T>)forward.Record!).States(forward.Problem.Batch * TDynamics.StateSize);

    private static T[] InterpolateOutputs<T>(Tape<T> tape, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nTimes = tape.OutputStep.Length, s = tape.Scheme.Stages;
        var states = new T[nTimes * n];
        var w = new T[s];
        var dw = new T[s];
        for (int o = 0; o < nTimes; o++)
        {
            int j = tape.OutputStep[o];
            Span<T> dst = states.AsSpan(o * n, n);
            tape.Stages.Y(j).CopyTo(dst);
            tape.Scheme.InterpolationWeights(tape.OutputTheta[o], w, dw);
            for (int i = 0; i < s; i++)
                Axpy(tape.StepSize[j] * w[i], tape.Stages.K(j).Slice(i * n, n), dst, overwrite: false);
        }
        return states;
    }

    /// <summary>For every output time, the accepted step that contains it and its fraction θ of that step.</summary>
    private static (int[] Step, T[] Theta) LocateOutputs<T>(T[] times, T[] stepStart, T[] stepSize) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var step = new int[times.Length];
        var theta = new T[times.Length];
        int j = 0;
        for (int o = 0; o < times.Length; o++)
        {
            // Advance while the output lies beyond this step's end (θ > 1); the last step takes any rounding overshoot.
            while (j < stepStart.Length - 1 && (times[o] - stepStart[j]) / stepSize[j] > T.One) j++;
            step[o] = j;
            theta[o] = T.Clamp((times[o] - stepStart[j]) / stepSize[j], T.Zero, T.One);
        }
        return (step, theta);
    }

    /// <summary>y = αx or y += αx (SIMD).</summary>
    internal static void Axpy<T>(T alpha, ReadOnlySpan<T> x, Span<T> y, bool overwrite) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (overwrite) TensorPrimitives.Multiply(x, alpha, y);
        else TensorPrimitives.MultiplyAdd(x, alpha, y, y);
    }

    private static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        => TensorPrimitives.Dot(x, y);

    private static bool IsZero<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (T v in x) if (v != T.Zero) return false;
        return true;
    }
}
