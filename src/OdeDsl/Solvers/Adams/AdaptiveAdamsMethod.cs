using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Variable-step Adams–Bashforth–Moulton of order 4 in PECE mode with Milne's error estimate.
/// </summary>
/// <remarks>
/// Each step predicts with AB4 and corrects with AM4 (both order 4, coefficients in <see cref="AdamsCoefficients"/>).
/// Milne's device estimates the corrector's local error from the error constants C_AB = 251/720, C_AM = −19/720:
/// err ≈ |C_AM| / (C_AB − C_AM) · (y_c − y_p) = 19/270 · (y_c − y_p) (Hairer, Nørsett &amp; Wanner I, §III.1).
/// The step is accepted when the RMS norm of err / (atol + rtol·max(|y_n|, |y_c|)) is ≤ 1, and changed by
/// 0.9·r^(−1/5), within [0.2, 2]. When the step changes, the slope history f_n, …, f_{n−3} is moved to the new
/// uniform grid by the cubic through the old values (no extra evaluations), so the method stays a constant-step
/// Adams method on each run of equal steps. The first three steps are rk4 at a cautious first step.
/// Batch rows share the step; output times are read from cubic Hermite interpolation and never shorten steps.
/// </remarks>
internal sealed class AdaptiveAdamsMethod : OdeMethod
{
    private const int K = 4;
    private const double Milne = 19.0 / 270.0;

    public override string Name => "adaptive_adams";
    public override int Order => K;
    public override bool IsAdaptive => true;

    internal override Solution<T> Run<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> options)
    {
        int n = rhs.StateSize, batch = y0.Length / n, size = y0.Length;
        double dir = times[^1] > times[0] ? 1.0 : -1.0;
        double tEnd = double.CreateChecked(times[^1]);
        bool finalOnly = options.Output == OutputMode.FinalOnly;
        T[] outTimes = finalOnly ? [times[^1]] : times.ToArray();
        var states = new T[outTimes.Length * size];
        int nextOut = 0;
        if (!finalOnly) { y0.CopyTo(states); nextOut = 1; }

        var w = new Work<T>(batch, size);
        y0.CopyTo(w.Y);
        double t = double.CreateChecked(times[0]);
        w.RowTimes.AsSpan().Fill(T.CreateChecked(t));
        rhs.Evaluate(w.RowTimes, w.Y, w.F[0], batch);
        long nfe = 1, accepted = 0, rejected = 0;
        double h = options.FirstStep is { } first ? double.CreateChecked(first) : FirstStep(w, options, n, Math.Abs(tEnd - t));
        h = Math.Min(h, double.CreateChecked(options.MaxStep));
        int history = 1;   // valid slopes at spacing h, newest first
        var status = SolveStatus.Success;

        while ((tEnd - t) * dir > 0)
        {
            if (accepted + rejected >= options.MaxSteps) { status = SolveStatus.MaxStepsReached; break; }
            double remaining = Math.Abs(tEnd - t);
            double target = history < K ? Math.Min(h, remaining / (K - history)) : (remaining < 1.1 * h ? remaining : h);
            if (target != h) { if (history > 1) Rescale(w, history, target / h); h = target; }
            if (h < double.CreateChecked(options.MinStep) || t + dir * h == t) { status = SolveStatus.StepSizeUnderflow; break; }
            double tNext = remaining <= h ? tEnd : t + dir * h;
            T hT = T.CreateChecked(dir * h);
            w.Y.CopyTo(w.YOld);
            w.F[0].CopyTo(w.FOld);

            if (history < K)
            {
                nfe += Rk4(rhs, w, t, hT, batch);
            }
            else
            {
                double ratio = PredictCorrect(rhs, w, options, tNext, hT, batch);
                nfe++;
                double factor = ratio == 0 ? 2.0 : Math.Clamp(0.9 * Math.Pow(ratio, -0.2), 0.2, 2.0);
                if (!(ratio <= 1.0))
                {
                    rejected++;
                    w.YOld.CopyTo(w.Y);
                    if (!double.IsFinite(ratio)) factor = 0.2;
                    Rescale(w, history, factor);
                    h *= factor;
                    continue;
                }
                if (factor is > 1.0 and < 1.2) factor = 1.0;   // keep runs of equal steps
                Shift(w);
                w.RowTimes.AsSpan().Fill(T.CreateChecked(tNext));
                rhs.Evaluate(w.RowTimes, w.Y, w.F[0], batch);
                nfe++;
                accepted++;
                Output(w, t, tNext, hT, outTimes, states, ref nextOut, dir, size);
                t = tNext;
                if (!StageCombination.AllFinite<T>(w.Y)) { status = SolveStatus.NonFiniteState; break; }
                if (factor != 1.0 && (tEnd - t) * dir > 0) { Rescale(w, K, factor); h *= factor; }
                continue;
            }
            Shift(w);
            w.RowTimes.AsSpan().Fill(T.CreateChecked(tNext));
            rhs.Evaluate(w.RowTimes, w.Y, w.F[0], batch);
            nfe++;
            accepted++;
            history++;
            Output(w, t, tNext, hT, outTimes, states, ref nextOut, dir, size);
            t = tNext;
            if (!StageCombination.AllFinite<T>(w.Y)) { status = SolveStatus.NonFiniteState; break; }
        }

        var statuses = new SolveStatus[batch];
        Array.Fill(statuses, status);
        var reached = new int[batch];
        Array.Fill(reached, nextOut);
        var finalTime = new T[batch];
        Array.Fill(finalTime, T.CreateChecked(t));
        var eventIndex = new int[batch];
        Array.Fill(eventIndex, -1);
        var lastStep = new T[batch];
        Array.Fill(lastStep, T.CreateChecked(dir * h));
        var stats = new SolverStats(nfe, accepted, rejected);
        var rowStats = new SolverStats[batch];
        Array.Fill(rowStats, stats);
        return new Solution<T>
        {
            Batch = batch, StateSize = n, Times = outTimes, States = states, Status = statuses, OutputsReached = reached,
            FinalTime = finalTime, Stats = stats, FinalStates = w.Y.ToArray(), EventIndex = eventIndex,
            LastStepSize = lastStep, RowStats = rowStats,
        };
    }

    /// <summary>AB4 predictor, one evaluation, AM4 corrector into Y; returns the error ratio of Milne's estimate.</summary>
    private static double PredictCorrect<TRhs, T>(TRhs rhs, Work<T> w, SolveOptions<T> o, double tNext, T h, int batch)
        where TRhs : IOdeRhs<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] ab = AdamsCoefficients.Bashforth[K - 1], am = AdamsCoefficients.Moulton[K - 1];
        Span<T> y = w.Y, pred = w.Predicted, fp = w.Stage;
        ReadOnlySpan<T> y0 = w.YOld;
        for (int i = 0; i < y.Length; i++)
        {
            T s = T.Zero;
            for (int j = 0; j < K; j++) s += T.CreateChecked(ab[j]) * w.F[j][i];
            pred[i] = y0[i] + h * s;
        }
        w.RowTimes.AsSpan().Fill(T.CreateChecked(tNext));
        rhs.Evaluate(w.RowTimes, pred, fp, batch);
        int n = y.Length / batch;
        double sum = 0, worst = 0;
        for (int i = 0; i < y.Length; i++)
        {
            T s = T.CreateChecked(am[0]) * fp[i];
            for (int j = 1; j < K; j++) s += T.CreateChecked(am[j]) * w.F[j - 1][i];
            y[i] = y0[i] + h * s;
            int c = i % n;
            T rtol = o.RelTolPerComponent?[c] ?? o.RelTol, atol = o.AbsTolPerComponent?[c] ?? o.AbsTol;
            T scaled = T.CreateChecked(Milne) * (y[i] - pred[i]) / (atol + rtol * T.Max(T.Abs(y0[i]), T.Abs(y[i])));
            w.Scaled[i] = scaled;
            double d = double.CreateChecked(scaled);
            sum += d * d;
        }
        if (o.Norm is null) return Math.Sqrt(sum / y.Length);
        for (int b = 0; b < batch; b++) worst = Math.Max(worst, double.CreateChecked(o.Norm(w.Scaled.AsSpan(b * n, n))));
        return worst;
    }

    /// <summary>Classic rk4 (Kutta 1901) from (t, YOld) with slope F[0]; leaves y_{n+1} in Y. Returns evaluations used beyond the final one.</summary>
    private static long Rk4<TRhs, T>(TRhs rhs, Work<T> w, double t, T h, int batch)
        where TRhs : IOdeRhs<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = h / T.CreateChecked(2), tT = T.CreateChecked(t);
        Span<T> y = w.Y, k1 = w.F[0], k2 = w.K2, k3 = w.K3, k4 = w.K4, st = w.Stage;
        for (int i = 0; i < y.Length; i++) st[i] = y[i] + half * k1[i];
        w.RowTimes.AsSpan().Fill(tT + half); rhs.Evaluate(w.RowTimes, st, k2, batch);
        for (int i = 0; i < y.Length; i++) st[i] = y[i] + half * k2[i];
        rhs.Evaluate(w.RowTimes, st, k3, batch);
        for (int i = 0; i < y.Length; i++) st[i] = y[i] + h * k3[i];
        w.RowTimes.AsSpan().Fill(tT + h); rhs.Evaluate(w.RowTimes, st, k4, batch);
        T sixth = h / T.CreateChecked(6), third = h / T.CreateChecked(3);
        for (int i = 0; i < y.Length; i++) y[i] += sixth * (k1[i] + k4[i]) + third * (k2[i] + k3[i]);
        return 3;
    }

    /// <summary>Moves the slope history onto spacing q·h: F_j ← p(−j q), p the polynomial through (−m, F_m), m &lt; count.</summary>
    private static void Rescale<T>(Work<T> w, int count, double q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (q == 1.0) return;
        Span<double> weights = stackalloc double[K];
        for (int j = 1; j < count; j++)
        {
            double s = -j * q;
            for (int m = 0; m < count; m++)
            {
                double l = 1;
                for (int p = 0; p < count; p++) if (p != m) l *= (s + p) / (p - m);
                weights[m] = l;
            }
            var dst = w.Rescaled[j];
            for (int i = 0; i < dst.Length; i++)
            {
                T v = T.Zero;
                for (int m = 0; m < count; m++) v += T.CreateChecked(weights[m]) * w.F[m][i];
                dst[i] = v;
            }
        }
        for (int j = 1; j < count; j++) (w.F[j], w.Rescaled[j]) = (w.Rescaled[j], w.F[j]);
    }

    /// <summary>Ages the history by one step; F[0] is then free for the new slope.</summary>
    private static void Shift<T>(Work<T> w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var oldest = w.F[K - 1];
        for (int j = K - 1; j > 0; j--) w.F[j] = w.F[j - 1];
        w.F[0] = oldest;
    }

    private static void Output<T>(Work<T> w, double t, double tNext, T h, T[] outTimes, T[] states, ref int next, double dir, int size)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (; next < outTimes.Length && (double.CreateChecked(outTimes[next]) - tNext) * dir <= 0; next++)
        {
            T s = (outTimes[next] - T.CreateChecked(t)) / h, one = T.One, two = T.CreateChecked(2), three = T.CreateChecked(3);
            T h00 = (one + two * s) * (one - s) * (one - s), h10 = s * (one - s) * (one - s) * h;
            T h01 = s * s * (three - two * s), h11 = s * s * (s - one) * h;
            var dst = states.AsSpan(next * size, size);
            for (int i = 0; i < size; i++) dst[i] = h00 * w.YOld[i] + h10 * w.FOld[i] + h01 * w.Y[i] + h11 * w.F[0][i];
        }
    }

    /// <summary>A cautious first step: 0.01·‖y‖/‖f‖ (Hairer et al. I, §II.4, first stage) scaled down for rk4 start-up.</summary>
    private static double FirstStep<T>(Work<T> w, SolveOptions<T> o, int n, double span) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double d0 = 0, d1 = 0;
        for (int i = 0; i < w.Y.Length; i++)
        {
            int c = i % n;
            double sc = double.CreateChecked((o.AbsTolPerComponent?[c] ?? o.AbsTol) + (o.RelTolPerComponent?[c] ?? o.RelTol) * T.Abs(w.Y[i]));
            d0 += Math.Pow(double.CreateChecked(w.Y[i]) / sc, 2);
            d1 += Math.Pow(double.CreateChecked(w.F[0][i]) / sc, 2);
        }
        d0 = Math.Sqrt(d0 / w.Y.Length); d1 = Math.Sqrt(d1 / w.Y.Length);
        double h = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        return Math.Min(0.1 * h, span / K);
    }

    private sealed class Work<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly T[] Y, YOld, FOld, Predicted, Stage, K2, K3, K4, Scaled, RowTimes;
        public readonly T[][] F = new T[K][], Rescaled = new T[K][];

        public Work(int batch, int size)
        {
            Y = new T[size]; YOld = new T[size]; FOld = new T[size]; Predicted = new T[size]; Stage = new T[size];
            K2 = new T[size]; K3 = new T[size]; K4 = new T[size]; Scaled = new T[size]; RowTimes = new T[batch];
            for (int j = 0; j < K; j++) { F[j] = new T[size]; Rescaled[j] = new T[size]; }
        }
    }
}
