// The fused ensemble solver kernel in double; make-f32.sh writes EnsembleKernelF32.cs from it (ILGPU compiles no generic math, so one copy per precision; a test checks the copy is current).
using ILGPU;
using Real = double;

namespace OdeDsl.Gpu.Ensemble;

/// <summary>
/// One thread per trajectory integrates it from times[0] to times[^1] with an explicit Runge–Kutta tableau, exactly as
/// the CPU runtime's per-sample mode (src/OdeDsl/Solvers/RungeKuttaSolver.cs with BatchStepMode.PerSample, no events,
/// no overshoot): the same f0 and initial-step selection (Hairer, Nørsett &amp; Wanner I, II.4), the same stage, solution
/// and scaled-error sums in the same order (a multiply then an add per non-zero coefficient, slot order), the RMS error
/// ratio, the I or PI controller in double, the same dense output at the requested times, and the same result codes.
/// Each trajectory's vectors are interleaved with the others' (element j of trajectory i at row·N + i), so that
/// neighbouring threads touch neighbouring addresses on a GPU.
/// </summary>
internal static class EnsembleKernelF64
{
    /// <summary>Everything the kernel reads and writes; a struct of views is one kernel argument.</summary>
    public struct Args
    {
        public int N, S, Stages, Slots, Fsal, Adaptive, Order, Interpolant, Controller, MaxSteps, NOut, ThetaPerTrajectory, WorkRows;
        public Real RelTol, AbsTol, MinStep, MaxStep, FixedStep, FirstStep;
        public double Safety, IFactor, DFactor;
        /// <summary>a (Stages × Stages, row-major), b, c, e (b − b̂) in Real; b and the dopri5 d in double for the interpolant.</summary>
        public ArrayView<Real> A, B, C, E;
        public ArrayView<double> BDouble, DenseD;
        public ArrayView<Real> Times, Y0, Theta;
        /// <summary>Per-trajectory scratch, interleaved: rows y, yNew, stage, k (Slots × S), then the field's work.</summary>
        public ArrayView<Real> Scratch;
        /// <summary>[NOut, N, S] like the CPU Solution.States; [N, S]; [N].</summary>
        public ArrayView<Real> States, FinalStates, FinalTime, LastStep;
        public ArrayView<int> Status;
        public ArrayView<long> Evaluations, Accepted, Rejected;
    }

    // result codes: the values of OdeDsl.SolveStatus
    private const int Success = 0, MaxStepsReached = 1, StepSizeUnderflow = 2, NonFiniteState = 3;
    /// <summary>Interpolant kinds: the tableau's cubic Hermite fallback, dopri5's and tsit5's own.</summary>
    public const int Hermite = 0, Dopri5 = 1, Tsit5 = 2;

    private static bool Finite(Real x) => x - x == 0;

    private static DeviceVector<Real> Row(in Args a, ArrayView<Real> view, int row, int i) => new(view, (long)row * a.N + i, a.N);

    public static void Kernel<TField>(Index1D index, Args a, TField field) where TField : struct, IDeviceDynamics<Real>
    {
        int i = index, S = a.S, s = a.Stages;
        if (i >= a.N) return;
        var y = Row(a, a.Scratch, 0, i);
        var yNew = Row(a, a.Scratch, S, i);
        var stage = Row(a, a.Scratch, 2 * S, i);
        int kRow = 3 * S;
        var work = Row(a, a.Scratch, kRow + a.Slots * S, i);
        var theta = a.ThetaPerTrajectory != 0 ? new DeviceVector<Real>(a.Theta, i, a.N) : new DeviceVector<Real>(a.Theta, 0, 1);
        int fEnd = a.Fsal != 0 ? s - 1 : s;

        Real tStart = a.Times[0], tEnd = a.Times[a.NOut - 1];
        Real dir = tEnd > tStart ? (Real)1 : (Real)(-1);
        for (int j = 0; j < S; j++)
        {
            Real v = a.Y0[(long)i * S + j];
            y[j] = v;
            a.States[(long)i * S + j] = v;
        }
        long nfe = 0, nacc = 0, nrej = 0;
        field.Forward(tStart, y, theta, K(a, kRow, 0, i), work);
        nfe++;

        Real h;
        Real span = Abs(tEnd - tStart);
        if (a.Adaptive == 0) h = a.FixedStep * dir;
        else if (a.FirstStep > 0) h = Min(a.FirstStep, span) * dir;
        else
        {
            h = InitialStep(a, field, y, theta, K(a, kRow, 0, i), stage, K(a, kRow, s, i), work, tStart, dir, span);
            nfe++;
        }
        h = dir * Min(Abs(h), a.MaxStep);

        Real t = tStart, hStep = 0;
        double prevRatio = 1;
        int outIdx = 1, streak = 0, status = -1;
        long attempts = 0;
        while (status < 0)
        {
            if (attempts >= a.MaxSteps) { status = MaxStepsReached; break; }
            attempts++;
            Real rest = tEnd - t;
            hStep = Abs(h) >= Abs(rest) ? rest : h;

            for (int st = 1; st < s; st++)
            {
                Real ts = t + a.C[st] * hStep;
                for (int j = 0; j < S; j++)
                {
                    Real acc = y[j];
                    for (int q = 0; q < st; q++)
                    {
                        Real w = a.A[st * s + q];
                        Real coef = w == 0 ? 0 : hStep * w;
                        if (coef != 0) acc += coef * K(a, kRow, q, i)[j];
                    }
                    stage[j] = acc;
                }
                field.Forward(ts, stage, theta, K(a, kRow, st, i), work);
                nfe++;
            }

            bool finite = true;
            for (int j = 0; j < S; j++)
            {
                Real acc = y[j];
                for (int q = 0; q < s; q++)
                {
                    Real w = a.B[q];
                    Real coef = w == 0 ? 0 : hStep * w;
                    if (coef != 0) acc += coef * K(a, kRow, q, i)[j];
                }
                yNew[j] = acc;
                finite &= Finite(acc);
            }
            double ratio = 0;
            if (a.Adaptive != 0)
            {
                Real sum = 0;
                for (int j = 0; j < S; j++)
                {
                    Real err = 0;
                    for (int q = 0; q < s; q++)
                    {
                        Real w = a.E[q];
                        if (w == 0) continue;
                        err += hStep * w * K(a, kRow, q, i)[j];
                    }
                    Real tol = a.AbsTol + a.RelTol * Max(Abs(y[j]), Abs(yNew[j]));
                    err = err / tol;
                    sum += err * err;
                }
                ratio = (double)Sqrt(sum / (Real)S);
                finite &= ratio - ratio == 0;
            }

            if (!finite)
            {
                nrej++;
                if (a.Adaptive == 0 || ++streak > 10) { status = NonFiniteState; break; }
                h = hStep * (Real)0.2;
                if (Abs(h) < a.MinStep || t + h == t) { status = NonFiniteState; break; }
                continue;
            }
            streak = 0;
            bool accept = a.Adaptive == 0 || ratio <= 1;
            if (accept) nacc++; else nrej++;

            if (accept)
            {
                Real tNew = Abs(hStep) >= Abs(tEnd - t) ? tEnd : t + hStep;
                if (a.Fsal == 0)
                {
                    field.Forward(tNew, yNew, theta, K(a, kRow, s, i), work);
                    nfe++;
                }
                while (outIdx < a.NOut && dir * (a.Times[outIdx] - tNew) <= 0)
                {
                    Real to = a.Times[outIdx];
                    long at = ((long)outIdx * a.N + i) * S;
                    if (to == tNew)
                        for (int j = 0; j < S; j++) a.States[at + j] = yNew[j];
                    else Interpolate(a, (double)((to - t) / hStep), hStep, y, kRow, i, at);
                    outIdx++;
                }
                for (int j = 0; j < S; j++)
                {
                    y[j] = yNew[j];
                    K(a, kRow, 0, i)[j] = K(a, kRow, fEnd, i)[j];
                }
                t = tNew;
                if (tNew == tEnd) { status = Success; break; }
            }

            if (a.Adaptive != 0)
            {
                double f = DeviceStepControl.Factor(a.Controller, a.Order, a.Safety, a.IFactor, a.DFactor, ratio, prevRatio, accept);
                if (accept) prevRatio = ratio;
                Real hn = hStep * (Real)f;
                if (Abs(hn) > a.MaxStep) hn = dir * a.MaxStep;
                h = hn;
                if (Abs(hn) < a.MinStep || t + hn == t) { status = StepSizeUnderflow; break; }
            }
        }

        // outputs never reached read NaN, as on the CPU
        for (int o = outIdx; o < a.NOut; o++)
            for (int j = 0; j < S; j++) a.States[((long)o * a.N + i) * S + j] = Real.NaN;
        for (int j = 0; j < S; j++) a.FinalStates[(long)i * S + j] = y[j];
        a.FinalTime[i] = t;
        a.LastStep[i] = hStep;
        a.Status[i] = status;
        a.Evaluations[i] = nfe;
        a.Accepted[i] = nacc;
        a.Rejected[i] = nrej;
    }

    private static DeviceVector<Real> K(in Args a, int kRow, int slot, int i) => Row(a, a.Scratch, kRow + slot * a.S, i);

    /// <summary>The dense output y + Σ (h·w_q(θ)) k_q at θ into States[at..]; weights in double as on the CPU.</summary>
    private static void Interpolate(in Args a, double theta, Real hStep, DeviceVector<Real> y, int kRow, int i, long at)
    {
        for (int j = 0; j < a.S; j++)
        {
            Real acc = y[j];
            for (int q = 0; q < a.Slots; q++)
            {
                double w = Weight(a, theta, q);
                Real coef = w == 0 ? 0 : hStep * (Real)w;
                if (coef != 0) acc += coef * K(a, kRow, q, i)[j];
            }
            a.States[at + j] = acc;
        }
    }

    /// <summary>Slot q's interpolation weight: ButcherTableau.InterpolationWeights, term for term.</summary>
    private static double Weight(in Args a, double theta, int q)
    {
        double t2 = theta * theta, om = 1 - theta;
        if (a.Interpolant == Dopri5)
        {
            if (q >= 7) return 0;
            double main = t2 * (3 - 2 * theta), corr = t2 * om * om;
            double w = a.BDouble[q] * main + a.DenseD[q] * corr;
            if (q == 0) w += theta * om * om;
            if (q == 6) w -= t2 * om;
            return w;
        }
        if (a.Interpolant == Tsit5)
        {
            double tt = theta;
            switch (q)
            {
                case 0: return -1.0530884977290216 * tt * (tt - 1.3299890189751412) * (t2 - 1.4364028541716351 * tt + 0.7139816917074209);
                case 1: return 0.1017 * t2 * (t2 - 2.1966568338249754 * tt + 1.2949852507374631);
                case 2: return 2.490627285651252793 * t2 * (t2 - 2.38535645472061657 * tt + 1.57803468208092486);
                case 3: return -16.54810288924490272 * (tt - 1.21712927295533244) * (tt - 0.61620406037800089) * t2;
                case 4: return 47.37952196281928122 * (tt - 1.203071208372362603) * (tt - 0.658047292653547382) * t2;
                case 5: return -34.87065786149660974 * (tt - 1.2) * (tt - 2.0 / 3) * t2;
                case 6: return 2.5 * (tt - 1) * (tt - 0.6) * t2;
                default: return 0;
            }
        }
        // cubic Hermite through y_n, f_n, y_{n+1}, f_{n+1}
        double m = t2 * (3 - 2 * theta);
        double hw = q < a.Stages ? a.BDouble[q] * m : 0;
        if (q == 0) hw += theta * om * om;
        if (q == (a.Fsal != 0 ? a.Stages - 1 : a.Stages)) hw -= t2 * om;
        return hw;
    }

    /// <summary>RungeKuttaSolver.SelectInitialStep for one row: f1 = f(t0 + h0, y0 + h0 f0) into f1.</summary>
    private static Real InitialStep<TField>(in Args a, TField field, DeviceVector<Real> y0, DeviceVector<Real> theta, DeviceVector<Real> f0,
        DeviceVector<Real> y1, DeviceVector<Real> f1, DeviceVector<Real> work, Real t0, Real dir, Real span) where TField : struct, IDeviceDynamics<Real>
    {
        int S = a.S;
        double d0 = ScaledRms(a, y0, y0, y0, false), d1 = ScaledRms(a, y0, f0, f0, false);
        double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        h0 = System.Math.Min(h0, (double)span);
        Real ht = (Real)h0 * dir;
        for (int j = 0; j < S; j++) y1[j] = y0[j] + ht * f0[j];
        field.Forward(t0 + ht, y1, theta, f1, work);
        double d2 = ScaledRms(a, y0, f1, f0, true) / h0;
        double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? System.Math.Max(1e-6, h0 * 1e-3) : System.Math.Pow(0.01 / System.Math.Max(d1, d2), 1.0 / a.Order);
        return (Real)System.Math.Min(100 * h0, h1) * dir;
    }

    /// <summary>RMS of (v − sub)/(atol + |y0|·rtol) (sub only when diff), summed in Real as the CPU does.</summary>
    private static double ScaledRms(in Args a, DeviceVector<Real> y0, DeviceVector<Real> v, DeviceVector<Real> sub, bool diff)
    {
        Real sum = 0;
        for (int j = 0; j < a.S; j++)
        {
            Real sc = a.AbsTol + Abs(y0[j]) * a.RelTol;
            Real x = (diff ? v[j] - sub[j] : v[j]) / sc;
            sum += x * x;
        }
        return (double)Sqrt(sum / (Real)a.S);
    }

    private static Real Abs(Real x) => x < 0 ? -x : x;
    private static Real Min(Real x, Real y) => x < y ? x : y;
    private static Real Max(Real x, Real y) => x > y ? x : y;
    private static Real Sqrt(Real x) => (Real)System.Math.Sqrt(x);
}
