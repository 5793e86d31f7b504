using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Fixed-step linear multistep methods of the Adams family on a uniform grid: explicit Adams–Bashforth (AB) of
/// order k, or the predictor–corrector AB(k) → Adams–Moulton(k) in PECE mode (one predictor evaluation and one
/// corrector evaluation per step). The first k−1 steps are classic rk4 at the same step size, whose local error
/// O(h⁵) keeps the start-up within the method's order (k ≤ 5).
/// </summary>
/// <remarks>
/// The step is <see cref="SolveOptions{T}.FixedStep"/> shrunk so that a whole number of equal steps spans
/// [times[0], times[^1]] (a multistep method needs a uniform grid). Intermediate output times are read from the
/// cubic Hermite interpolant through the step's end values and slopes, so they never shorten a step.
/// All batch rows share the grid.
/// </remarks>
internal sealed class AdamsMethod : OdeMethod
{
    private readonly int order;
    private readonly bool corrector;

    public AdamsMethod(int order, bool corrector)
    {
        if (order < 1 || order > AdamsCoefficients.MaxOrder)
            throw new ArgumentOutOfRangeException(nameof(order), order, $"Adams order must be 1 to {AdamsCoefficients.MaxOrder}.");
        this.order = order;
        this.corrector = corrector;
    }

    public override string Name => corrector ? $"adams_bashforth_moulton{order}" : $"adams_bashforth{order}";
    public override int Order => order;
    public override bool IsAdaptive => false;

    internal override Solution<T> Run<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> options)
    {
        // Arguments were validated by Ode.Solve (FixedStep present and positive, times strictly monotone).
        int n = rhs.StateSize;
        int batch = y0.Length / n, size = y0.Length;
        T requested = options.FixedStep ?? throw new ArgumentException($"{Name} is a fixed-step method: set SolveOptions.FixedStep.", nameof(options));
        T direction = times[^1] > times[0] ? T.One : -T.One;

        T span = times[^1] - times[0];
        long steps = long.Max(1, long.CreateChecked(T.Ceiling(T.Abs(span) / requested - T.CreateChecked(1e-9))));
        T h = span / T.CreateChecked(steps);

        bool finalOnly = options.Output == OutputMode.FinalOnly;
        T[] outTimes = finalOnly ? [times[^1]] : times.ToArray();
        var states = new T[outTimes.Length * size];
        int nextOut = 0;
        if (!finalOnly) { y0.CopyTo(states); nextOut = 1; }

        var work = new Workspace<T>(order, batch, size);
        y0.CopyTo(work.Y);
        T t = times[0];
        Fill(work.RowTimes, t);
        rhs.Evaluate(work.RowTimes, work.Y, work.History[0], batch);
        long nfe = 1, taken = 0;
        var status = SolveStatus.Success;

        while (taken < steps)
        {
            T tNext = taken + 1 == steps ? times[^1] : times[0] + T.CreateChecked(taken + 1) * h;
            work.Y.CopyTo(work.YOld);
            work.History[0].CopyTo(work.FOld);
            if (taken < order - 1) nfe += Rk4Step(rhs, work, t, h, batch);
            else nfe += MultistepStep(rhs, work, tNext, h, batch);
            // The newest slope f(t_{n+1}, y_{n+1}) goes to the front of the history (rk4 and PECE both need it).
            work.Rotate();
            Fill(work.RowTimes, tNext);
            rhs.Evaluate(work.RowTimes, work.Y, work.History[0], batch);
            nfe++;
            taken++;
            if (!StageCombination.AllFinite<T>(work.Y)) { status = SolveStatus.NonFiniteState; break; }
            for (; nextOut < outTimes.Length && (outTimes[nextOut] - tNext) * direction <= T.Zero; nextOut++)
                Hermite(work.YOld, work.FOld, work.Y, work.History[0], t, h, outTimes[nextOut], states.AsSpan(nextOut * size, size));
            t = tNext;
        }

        if (status != SolveStatus.Success && options.ThrowOnFailure)
            throw new OdeSolveException($"{Name}: the state became non-finite at t = {t} (step {h}); try a smaller FixedStep or an adaptive method.");
        var statuses = new SolveStatus[batch];
        Array.Fill(statuses, status);
        var reached = new int[batch];
        Array.Fill(reached, nextOut);
        var finalTime = new T[batch];
        Array.Fill(finalTime, t);
        var eventIndex = new int[batch];
        Array.Fill(eventIndex, -1);
        var lastStep = new T[batch];
        Array.Fill(lastStep, h);
        var rowStats = new SolverStats[batch];
        Array.Fill(rowStats, new SolverStats(nfe, taken, 0));
        return new Solution<T>
        {
            Batch = batch, StateSize = n, Times = outTimes, States = states, Status = statuses,
            OutputsReached = reached, FinalTime = finalTime,
            Stats = new SolverStats(nfe, taken, 0),
            FinalStates = work.Y.ToArray(), EventIndex = eventIndex, LastStepSize = lastStep, RowStats = rowStats,
        };
    }

    /// <summary>AB(k) prediction, then for PECE the AM(k) correction with one more evaluation. Returns evaluations used beyond the final one.</summary>
    private long MultistepStep<TRhs, T>(TRhs rhs, Workspace<T> w, T tNext, T h, int batch)
        where TRhs : IOdeRhs<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] ab = AdamsCoefficients.Bashforth[order - 1];
        for (int j = 0; j < order; j++)
            Axpy(h * T.CreateChecked(ab[j]), w.History[j], w.Y);
        if (!corrector) return 0;
        // Evaluate the prediction into the history slot that Rotate() will bring to the front.
        Span<T> fPredicted = w.History[order];
        Fill(w.RowTimes, tNext);
        rhs.Evaluate(w.RowTimes, w.Y, fPredicted, batch);
        double[] am = AdamsCoefficients.Moulton[order - 1];
        w.YOld.CopyTo(w.Y);
        Axpy(h * T.CreateChecked(am[0]), fPredicted, w.Y);
        for (int j = 1; j < order; j++)
            Axpy(h * T.CreateChecked(am[j]), w.History[j - 1], w.Y);
        return 1;
    }

    /// <summary>One classic Runge–Kutta 4 step (Kutta 1901) from (t, Y) whose slope is History[0]. Returns evaluations used beyond the final one.</summary>
    private static long Rk4Step<TRhs, T>(TRhs rhs, Workspace<T> w, T t, T h, int batch)
        where TRhs : IOdeRhs<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = h / T.CreateChecked(2), sixth = h / T.CreateChecked(6), third = h / T.CreateChecked(3);
        Span<T> k1 = w.History[0], k2 = w.K2, k3 = w.K3, k4 = w.K4, stage = w.Stage, y = w.Y;
        Stage(y, half, k1, stage); Fill(w.RowTimes, t + half); rhs.Evaluate(w.RowTimes, stage, k2, batch);
        Stage(y, half, k2, stage); rhs.Evaluate(w.RowTimes, stage, k3, batch);
        Stage(y, h, k3, stage); Fill(w.RowTimes, t + h); rhs.Evaluate(w.RowTimes, stage, k4, batch);
        for (int i = 0; i < y.Length; i++)
            y[i] += sixth * (k1[i] + k4[i]) + third * (k2[i] + k3[i]);
        return 3;
    }

    private static void Stage<T>(ReadOnlySpan<T> y, T a, ReadOnlySpan<T> k, Span<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++) result[i] = y[i] + a * k[i];
    }

    private static void Axpy<T>(T a, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++) y[i] += a * x[i];
    }

    private static void Fill<T>(Span<T> t, T value) where T : unmanaged, IFloatingPointIeee754<T> => t.Fill(value);

    /// <summary>Cubic Hermite interpolation on [t0, t0+h] from end values and slopes (Hairer et al. I, §II.6).</summary>
    private static void Hermite<T>(ReadOnlySpan<T> y0, ReadOnlySpan<T> f0, ReadOnlySpan<T> y1, ReadOnlySpan<T> f1, T t0, T h, T t, Span<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T s = (t - t0) / h, one = T.One, two = T.CreateChecked(2), three = T.CreateChecked(3);
        T h00 = (one + two * s) * (one - s) * (one - s);
        T h10 = s * (one - s) * (one - s);
        T h01 = s * s * (three - two * s);
        T h11 = s * s * (s - one);
        for (int i = 0; i < result.Length; i++)
            result[i] = h00 * y0[i] + h10 * h * f0[i] + h01 * y1[i] + h11 * h * f1[i];
    }

    /// <summary>Buffers of one solve: state, the slope history f_n, f_{n−1}, … (plus one spare slot), rk4 stages.</summary>
    private sealed class Workspace<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly T[] Y, YOld, FOld, RowTimes, K2, K3, K4, Stage;
        public readonly T[][] History;

        public Workspace(int order, int batch, int size)
        {
            Y = new T[size]; YOld = new T[size]; FOld = new T[size]; RowTimes = new T[batch];
            K2 = new T[size]; K3 = new T[size]; K4 = new T[size]; Stage = new T[size];
            History = new T[order + 1][];
            for (int i = 0; i < History.Length; i++) History[i] = new T[size];
        }

        /// <summary>Shifts the history one place older; the oldest buffer becomes History[0], to be overwritten with the new slope.</summary>
        public void Rotate()
        {
            var oldest = History[^1];
            for (int i = History.Length - 1; i > 0; i--) History[i] = History[i - 1];
            History[0] = oldest;
        }
    }
}
