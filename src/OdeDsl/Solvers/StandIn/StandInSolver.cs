using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The stand-in's step loop (see <see cref="StandInRungeKutta"/>): shared steps for the whole batch, torchdiffeq's
/// behaviour — initial step of Hairer, Nørsett &amp; Wanner (Solving ODEs I, II.4), I controller with safety 0.9 and
/// factors in [0.2, 10] (never shrinking after an accepted step), RMS error norm over the whole batch, steps that are
/// never shortened by output times (outputs come from the dense interpolant).
/// </summary>
internal static class StandInSolver
{
    public static Solution<T> Solve<TRhs, T>(StandInRungeKutta method, TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> o)
        where TRhs : IOdeRhs<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y0.Length, stateSize = rhs.StateSize, batch = n / stateSize;
        if (times.Length < 1 || n == 0 || n % stateSize != 0)
            throw new ArgumentException("y0 must be [batch, StateSize] and at least one time is needed.");
        var scheme = new RkScheme<T>(method.A, method.B, method.C, method.Interpolation, method.InterpolationDegree);
        int s = scheme.Stages;
        T[]? errorWeights = method.ErrorWeights?.Select(T.CreateChecked).ToArray();
        var y = y0.ToArray();
        var yNew = new T[n];
        var k = new T[s * n];
        var stage = new T[n];
        var scaled = new T[n];
        var rowTimes = new T[batch];
        T direction = times[^1] >= times[0] ? T.One : -T.One;
        T t = times[0];
        long evaluations = 0, accepted = 0, rejected = 0;

        void F(T time, ReadOnlySpan<T> state, Span<T> derivative)
        {
            rowTimes.AsSpan().Fill(time);
            rhs.Evaluate(rowTimes, state, derivative, batch);
            evaluations++;
        }
        T Norm(ReadOnlySpan<T> e)
        {
            if (o.Norm is null)
            {
                T sum = T.Zero;
                foreach (T v in e) sum += v * v;
                return T.Sqrt(sum / T.CreateChecked(e.Length));
            }
            T max = T.Zero;
            for (int b = 0; b < batch; b++) max = T.Max(max, o.Norm(e.Slice(b * stateSize, stateSize)));
            return max;
        }
        T Scale(int q, T a, T b) => o.AbsTol + o.RelTol * T.Max(T.Abs(a), T.Abs(b));

        T h;
        bool haveFirstStage = false;
        if (errorWeights is null)
        {
            h = (o.FixedStep ?? throw new ArgumentException($"{method.Name} is a fixed-step method: set SolveOptions.FixedStep.")) * direction;
        }
        else if (o.FirstStep is T first)
        {
            h = first * direction;
        }
        else
        {
            F(t, y, k.AsSpan(0, n));
            haveFirstStage = true;
            for (int q = 0; q < n; q++) scaled[q] = y[q] / Scale(q, y[q], y[q]);
            T d0 = Norm(scaled);
            for (int q = 0; q < n; q++) scaled[q] = k[q] / Scale(q, y[q], y[q]);
            T d1 = Norm(scaled);
            T h0 = d0 < T.CreateChecked(1e-5) || d1 < T.CreateChecked(1e-5) ? T.CreateChecked(1e-6) : T.CreateChecked(0.01) * d0 / d1;
            for (int q = 0; q < n; q++) stage[q] = y[q] + direction * h0 * k[q];
            F(t + direction * h0, stage, yNew);
            for (int q = 0; q < n; q++) scaled[q] = (yNew[q] - k[q]) / Scale(q, y[q], y[q]);
            T d2 = Norm(scaled) / h0;
            T h1 = d1 <= T.CreateChecked(1e-15) && d2 <= T.CreateChecked(1e-15)
                ? T.Max(T.CreateChecked(1e-6), h0 * T.CreateChecked(1e-3))
                : T.Pow(T.CreateChecked(0.01) / T.Max(d1, d2), T.One / T.CreateChecked(method.Order));
            h = T.Min(T.CreateChecked(100) * h0, h1) * direction;
        }

        var steps = o.RecordSteps ? new StepRecord<T>() : null;
        var dense = o.KeepDenseOutput ? new DenseOutput<T>(scheme) : null;
        T[] outputTimes = o.Output == OutputMode.FinalOnly ? [times[^1]] : times.ToArray();
        var states = new T[outputTimes.Length * n];
        var w = new T[s];
        var dw = new T[s];
        int next = 0;
        while (next < outputTimes.Length && (outputTimes[next] - t) * direction <= T.Zero) y.CopyTo(states, n * next++);
        bool fsal = errorWeights is not null && s > 1 && method.C[^1] == 1 && method.A.AsSpan((s - 1) * s, s - 1).SequenceEqual(method.B.AsSpan(0, s - 1));
        var status = SolveStatus.Success;
        while (next < outputTimes.Length)
        {
            if (accepted + rejected >= o.MaxSteps) { status = SolveStatus.MaxStepsReached; break; }
            if (errorWeights is null)
            {
                T remaining = times[^1] - t;   // the fixed grid ends exactly on the last time
                if (T.Abs(remaining) < T.Abs(h) * T.CreateChecked(1 + 1e-10)) h = remaining;
            }
            if (!haveFirstStage) F(t, y, k.AsSpan(0, n));
            for (int i = 1; i < s; i++)
            {
                scheme.StageState(i, h, y, k, stage);
                F(t + scheme.C[i] * h, stage, k.AsSpan(i * n, n));
            }
            y.CopyTo(yNew, 0);
            scheme.Advance(h, k, yNew);
            T error = T.Zero;
            if (errorWeights is not null)
            {
                for (int q = 0; q < n; q++)
                {
                    T e = T.Zero;
                    for (int i = 0; i < s; i++) e += errorWeights[i] * k[i * n + q];
                    scaled[q] = h * e / Scale(q, y[q], yNew[q]);
                }
                error = Norm(scaled);
                if (!T.IsFinite(error)) { status = SolveStatus.NonFiniteState; break; }
            }
            if (error <= T.One)
            {
                accepted++;
                steps?.Starts.Add(t);
                steps?.SizeList.Add(h);
                dense?.Add(t, h, y, k);
                T end = t + h;
                while (next < outputTimes.Length && (outputTimes[next] - end) * direction <= T.Zero)
                {
                    scheme.InterpolationWeights((outputTimes[next] - t) / h, w, dw);
                    Span<T> dst = states.AsSpan(next * n, n);
                    y.CopyTo(dst);
                    for (int i = 0; i < s; i++)
                        for (int q = 0; q < n; q++) dst[q] += h * w[i] * k[i * n + q];
                    next++;
                }
                t = end;
                yNew.CopyTo(y, 0);
                if (fsal) k.AsSpan((s - 1) * n, n).CopyTo(k.AsSpan(0, n));
                haveFirstStage = fsal;
            }
            else
            {
                rejected++;
                haveFirstStage = true;   // k1 = f(t, y) is still valid
            }
            if (errorWeights is not null)
            {
                T factor = error == T.Zero
                    ? T.CreateChecked(10)
                    : T.Min(T.CreateChecked(10), T.Max(T.CreateChecked(0.9) * T.Pow(error, -T.One / T.CreateChecked(method.Order)),
                        error < T.One ? T.One : T.CreateChecked(0.2)));
                h *= factor;
            }
        }
        if (status != SolveStatus.Success && o.ThrowOnFailure)
            throw new OdeSolveException($"{method.Name} stopped at t = {t}: {status}.");
        return new Solution<T>
        {
            Batch = batch,
            StateSize = stateSize,
            Times = outputTimes,
            States = states,
            Status = Enumerable.Repeat(status, batch).ToArray(),
            OutputsReached = Enumerable.Repeat(next, batch).ToArray(),
            FinalTime = Enumerable.Repeat(t, batch).ToArray(),
            Stats = new SolverStats(evaluations, accepted, rejected),
            Steps = steps,
            Dense = dense,
        };
    }
}
