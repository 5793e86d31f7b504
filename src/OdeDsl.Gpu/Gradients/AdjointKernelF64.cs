// The fused adjoint (backsolve) kernel in double; make-f32.sh writes AdjointKernelF32.cs from it (ILGPU compiles no generic math, so one copy per precision; a test checks the copy is current).
using ILGPU;
using OdeDsl.Gpu.Ensemble;
using Real = double;

namespace OdeDsl.Gpu.Gradients;

/// <summary>
/// The adjoint method (Chen et al. 2018, Algorithm 1) for one trajectory per thread, exactly as the CPU runtime's
/// <c>Sensitivity.Adjoint</c> runs it for a batch of one (src/OdeDsl/Sensitivity/AdjointSensitivity.cs): the augmented
/// state z = [h (S), a (S), a_θ (P)] starts at the last output time with h from the forward solve and a = dL/dh(t_N);
/// for each output interval, from the last to the first, a += dL/dh(t_i), then z is integrated from t_i to t_{i−1} with
/// dh/dt = f, da/dt = −aᵀ∂f/∂h, da_θ/dt = −aᵀ∂f/∂θ (the generated device VJP with cotangent −a), and h is restarted from
/// the forward state at t_{i−1}; finally a += dL/dh(t_0). Each interval is a fresh solve as the CPU's: f0, the initial
/// step selection (HNW I, II.4) with the adjoint norm, then the step loop of EnsembleKernelF64 (same stage, solution and
/// error sums in the same order, the same controllers and non-finite retries), FinalOnly.
/// The error norm is the CPU's AdjointNorms: the maximum over channels (consecutive lengths of z, <see cref="Args.Channels"/>)
/// of each channel's RMS; only the first <see cref="Args.Controlled"/> channels enter it (the seminorm controls h and a only).
/// a_t (dL/dt₀) is not integrated: the device VJP has no ∂f/∂t, so the norm is the CPU's with TimeChannelInNorm = false
/// (for an autonomous field a_t is zero and the two norms are the same).
/// Every vector is interleaved with the other trajectories' (row r of trajectory i at r·N + i).
/// </summary>
internal static class AdjointKernelF64
{
    public struct Args
    {
        public int N, S, P, L, Stages, Fsal, Adaptive, Order, Controller, MaxSteps, NOut, ThetaPerTrajectory, Channels, Controlled;
        public Real RelTol, AbsTol, MinStep, MaxStep, FixedStep;
        public double Safety, IFactor, DFactor;
        /// <summary>The backward method's a (Stages × Stages, row-major), b, c and e (b − b̂).</summary>
        public ArrayView<Real> A, B, C, E;
        public ArrayView<Real> Times, Theta;
        /// <summary>The forward solve's states and the loss gradients, both [NOut, N, S] (the layout of EnsembleSolution.States).</summary>
        public ArrayView<Real> States, DLdStates;
        /// <summary>Lengths of the norm's channels over z, in order.</summary>
        public ArrayView<int> ChannelLengths;
        /// <summary>Per-trajectory scratch, interleaved: the rows of <see cref="ScratchRows"/>; z's a_θ rows (2S … 2S + P) hold dL/dθ at the end.</summary>
        public ArrayView<Real> Scratch;
        /// <summary>[N, S]: dL/dh(t_0).</summary>
        public ArrayView<Real> GradInitial;
        /// <summary>The forward solve's result codes (a trajectory that failed forward is not run backwards).</summary>
        public ArrayView<int> ForwardStatus;
        public ArrayView<int> Status;
        public ArrayView<long> Evaluations, Accepted, Rejected;
    }

    // result codes: the values of OdeDsl.SolveStatus
    private const int Success = 0, MaxStepsReached = 1, StepSizeUnderflow = 2, NonFiniteState = 3;

    /// <summary>Scratch rows per trajectory: z, zNew (L each), the stage's h and a (2S), −a (S), k slots (Stages + 1)·L, the field's work.</summary>
    public static long ScratchRows(int S, int L, int stages, int work) => 3L * S + 2L * L + (long)(stages + 1) * L + System.Math.Max(work, 1);

    private static bool Finite(Real x) => x - x == 0;

    private static DeviceVector<Real> Row(in Args a, long row, int i) => new(a.Scratch, row * a.N + i, a.N);

    public static void Kernel<TField>(Index1D index, Args a, TField field) where TField : struct, IDeviceDynamics<Real>
    {
        int i = index, S = a.S, L = a.L;
        if (i >= a.N) return;
        var z = Row(a, 0, i);
        var theta = a.ThetaPerTrajectory != 0 ? new DeviceVector<Real>(a.Theta, i, a.N) : new DeviceVector<Real>(a.Theta, 0, 1);
        long nfe = 0, nacc = 0, nrej = 0;
        int status = a.ForwardStatus[i];
        if (status == Success)
        {
            int last = a.NOut - 1;
            for (int j = 0; j < L; j++) z[j] = j < S ? a.States[((long)last * a.N + i) * S + j] : 0;
            for (int o = last; o >= 1 && status == Success; o--)
            {
                for (int j = 0; j < S; j++) z[S + j] += a.DLdStates[((long)o * a.N + i) * S + j];
                status = Interval(a, field, theta, i, a.Times[o], a.Times[o - 1], ref nfe, ref nacc, ref nrej);
                // restart h from the forward's state: integrating h backwards drifts (the CPU and torchdiffeq do the same)
                for (int j = 0; j < S; j++) z[j] = a.States[((long)(o - 1) * a.N + i) * S + j];
            }
        }
        if (status == Success)
            for (int j = 0; j < S; j++) a.GradInitial[(long)i * S + j] = z[S + j] + a.DLdStates[(long)i * S + j];
        else
        {
            // no gradient for a trajectory whose forward or backward solve failed (the CPU throws): NaN, never a partial sum
            for (int j = 0; j < S; j++) a.GradInitial[(long)i * S + j] = Real.NaN;
            for (int p = 0; p < a.P; p++) z[2 * S + p] = Real.NaN;
        }
        a.Status[i] = status;
        a.Evaluations[i] = nfe;
        a.Accepted[i] = nacc;
        a.Rejected[i] = nrej;
    }

    /// <summary>One backward piece from t0 to tEnd on z (rows 0 … L), as Ode.Solve(AugmentedRhs, z, [t0, tEnd], FinalOnly).</summary>
    private static int Interval<TField>(in Args a, TField field, DeviceVector<Real> theta, int i, Real t0, Real tEnd,
        ref long nfe, ref long nacc, ref long nrej) where TField : struct, IDeviceDynamics<Real>
    {
        int S = a.S, L = a.L, s = a.Stages;
        long rZ = 0, rZNew = L, rStage = 2L * L, kRow = 2L * L + 3L * S;
        var z = Row(a, rZ, i);
        var zNew = Row(a, rZNew, i);
        int fEnd = a.Fsal != 0 ? s - 1 : s;
        Real dir = tEnd > t0 ? (Real)1 : (Real)(-1);

        Augmented(a, field, theta, i, t0, rZ, kRow);
        nfe++;
        Real h;
        Real span = Abs(tEnd - t0);
        if (a.Adaptive == 0) h = a.FixedStep * dir;
        else
        {
            h = InitialStep(a, field, theta, i, kRow, t0, dir, span);
            nfe++;
        }
        h = dir * Min(Abs(h), a.MaxStep);

        Real t = t0;
        double prevRatio = 1;
        int streak = 0;
        long attempts = 0;
        while (true)
        {
            if (attempts >= a.MaxSteps) return MaxStepsReached;
            attempts++;
            Real rest = tEnd - t;
            Real hStep = Abs(h) >= Abs(rest) ? rest : h;

            for (int st = 1; st < s; st++)
            {
                // only the stage's h and a are read by the augmented field (it does not depend on a_θ)
                for (int j = 0; j < 2 * S; j++)
                {
                    Real acc = z[j];
                    for (int q = 0; q < st; q++)
                    {
                        Real w = a.A[st * s + q];
                        Real coef = w == 0 ? 0 : hStep * w;
                        if (coef != 0) acc += coef * a.Scratch[(kRow + (long)q * L + j) * a.N + i];
                    }
                    a.Scratch[(rStage + j) * a.N + i] = acc;
                }
                Augmented(a, field, theta, i, t + a.C[st] * hStep, rStage, kRow + (long)st * L);
                nfe++;
            }

            bool finite = true;
            for (int j = 0; j < L; j++)
            {
                Real acc = z[j];
                for (int q = 0; q < s; q++)
                {
                    Real w = a.B[q];
                    Real coef = w == 0 ? 0 : hStep * w;
                    if (coef != 0) acc += coef * a.Scratch[(kRow + (long)q * L + j) * a.N + i];
                }
                zNew[j] = acc;
                finite &= Finite(acc);
            }
            double ratio = 0;
            if (a.Adaptive != 0)
            {
                ratio = (double)Norm(a, i, 0, kRow, hStep, rZ, rZNew, 0);
                finite &= ratio - ratio == 0;
            }

            if (!finite)
            {
                nrej++;
                if (a.Adaptive == 0 || ++streak > 10) return NonFiniteState;
                h = hStep * (Real)0.2;
                if (Abs(h) < a.MinStep || t + h == t) return NonFiniteState;
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
                    Augmented(a, field, theta, i, tNew, rZNew, kRow + (long)s * L);
                    nfe++;
                }
                for (int j = 0; j < L; j++)
                {
                    z[j] = zNew[j];
                    a.Scratch[(kRow + j) * a.N + i] = a.Scratch[(kRow + (long)fEnd * L + j) * a.N + i];
                }
                t = tNew;
                if (tNew == tEnd) return Success;
            }

            if (a.Adaptive != 0)
            {
                double f = DeviceStepControl.Factor(a.Controller, a.Order, a.Safety, a.IFactor, a.DFactor, ratio, prevRatio, accept);
                if (accept) prevRatio = ratio;
                Real hn = hStep * (Real)f;
                if (Abs(hn) > a.MaxStep) hn = dir * a.MaxStep;
                h = hn;
                if (Abs(hn) < a.MinStep || t + hn == t) return StepSizeUnderflow;
            }
        }
    }

    /// <summary>
    /// The augmented field at (t, z) with z's h and a in rows zRow … zRow + 2S, into the L rows from kRow:
    /// [f(t, h), −aᵀ∂f/∂h, −aᵀ∂f/∂θ] (the VJP with cotangent −a, as the CPU's AdjointBatch).
    /// </summary>
    private static void Augmented<TField>(in Args a, TField field, DeviceVector<Real> theta, int i, Real t, long zRow, long kRow)
        where TField : struct, IDeviceDynamics<Real>
    {
        int S = a.S;
        long cotRow = 2L * a.L + 2L * S;
        var cot = Row(a, cotRow, i);
        var work = Row(a, 2L * a.L + 3L * S + (long)(a.Stages + 1) * a.L, i);
        var h = Row(a, zRow, i);
        for (int j = 0; j < S; j++) cot[j] = -a.Scratch[(zRow + S + j) * a.N + i];
        field.Forward(t, h, theta, Row(a, kRow, i), work);
        field.VectorJacobianProduct(t, h, theta, cot, Row(a, kRow + S, i), Row(a, kRow + 2L * S, i), work);
    }

    /// <summary>
    /// The adjoint norm (max over the controlled channels of their RMS) of one of two scaled vectors:
    /// kind 0, the step's error (Σ_q h·e_q·k_q) / (atol + rtol·max(|z|, |zNew|)) (rows yRow, yNewRow);
    /// kind 1, v / (atol + |y0|·rtol) with v the L rows at vRow (minus those at subRow when subRow ≥ 0), y0 at yRow.
    /// Each channel's squares are summed in order, as the CPU's scalar loop.
    /// </summary>
    private static Real Norm(in Args a, int i, int kind, long kRow, Real hStep, long yRow, long yNewRow, long vRow, long subRow = -1)
    {
        Real max = 0;
        int off = 0;
        for (int c = 0; c < a.Controlled; c++)
        {
            int len = a.ChannelLengths[c];
            if (len > 0)
            {
                Real sum = 0;
                for (int j = off; j < off + len; j++)
                {
                    Real y = a.Scratch[(yRow + j) * a.N + i];
                    Real x;
                    if (kind == 0)
                    {
                        Real err = 0;
                        for (int q = 0; q < a.Stages; q++)
                        {
                            Real w = a.E[q];
                            if (w == 0) continue;
                            err += hStep * w * a.Scratch[(kRow + (long)q * a.L + j) * a.N + i];
                        }
                        Real tol = a.AbsTol + a.RelTol * Max(Abs(y), Abs(a.Scratch[(yNewRow + j) * a.N + i]));
                        x = err / tol;
                    }
                    else
                    {
                        Real sc = a.AbsTol + Abs(y) * a.RelTol;
                        Real v = a.Scratch[(vRow + j) * a.N + i];
                        x = (subRow >= 0 ? v - a.Scratch[(subRow + j) * a.N + i] : v) / sc;
                    }
                    sum += x * x;
                }
                Real r = Sqrt(sum / (Real)len);
                max = IsNaN(r) || IsNaN(max) ? Real.NaN : r > max ? r : max; // NaN propagates, as T.Max
            }
            off += len;
        }
        return max;
    }

    /// <summary>
    /// RungeKuttaSolver.SelectInitialStep for z (rows 0 … L) with f0 in slot 0: y1 = z + h0·f0 (its h and a: f does not read a_θ)
    /// into the stage rows, f1 = F(t0 + h0, y1) into slot Stages.
    /// </summary>
    private static Real InitialStep<TField>(in Args a, TField field, DeviceVector<Real> theta, int i, long kRow, Real t0, Real dir, Real span)
        where TField : struct, IDeviceDynamics<Real>
    {
        int S = a.S;
        long rStage = 2L * a.L, f1Row = kRow + (long)a.Stages * a.L;
        double d0 = (double)Norm(a, i, 1, 0, 0, 0, 0, 0), d1 = (double)Norm(a, i, 1, 0, 0, 0, 0, kRow);
        double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        h0 = System.Math.Min(h0, (double)span);
        Real ht = (Real)h0 * dir;
        for (int j = 0; j < 2 * S; j++)
            a.Scratch[(rStage + j) * a.N + i] = a.Scratch[(long)j * a.N + i] + ht * a.Scratch[(kRow + j) * a.N + i];
        Augmented(a, field, theta, i, t0 + ht, rStage, f1Row);
        double d2 = (double)Norm(a, i, 1, 0, 0, 0, 0, f1Row, kRow) / h0;
        double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? System.Math.Max(1e-6, h0 * 1e-3) : System.Math.Pow(0.01 / System.Math.Max(d1, d2), 1.0 / a.Order);
        return (Real)System.Math.Min(100 * h0, h1) * dir;
    }

    private static bool IsNaN(Real x) => Real.IsNaN(x);
    private static Real Abs(Real x) => x < 0 ? -x : x;
    private static Real Min(Real x, Real y) => x < y ? x : y;
    private static Real Max(Real x, Real y) => x > y ? x : y;
    private static Real Sqrt(Real x) => (Real)System.Math.Sqrt(x);
}
