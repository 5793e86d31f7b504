using ILGPU;

namespace OdeDsl.Gpu.Gradients;

/// <summary>
/// Backprop through a fixed-step Runge–Kutta solve, one thread per trajectory (double). Forward: the solve, with every
/// step's starting state on a tape (the step sequence is the same for all trajectories and is computed on the host,
/// exactly as the CPU solver takes it). Backward, step by step from the end: recompute the stages Y_i, k_i = f(t + c_i h, Y_i)
/// from the taped state, then with ā = ∂L/∂y_{n+1}: k̄_i = h b_i ā; for i = s − 1 … 0 (Ȳ_i, θ̄_i) = VJP(f at Y_i; k̄_i),
/// θ̄ += θ̄_i, k̄_j += h a_ij Ȳ_i (j &lt; i); ∂L/∂y_n = ā + Σ Ȳ_i, plus dL/dy at an output time landing there.
/// Per-trajectory θ̄ stays in the scratch ([P, N], interleaved) for the reduction across trajectories.
/// </summary>
internal static class BackpropKernelF64
{
    public struct Args
    {
        public int N, S, P, Stages, Steps, NOut, WorkRows;
        public ArrayView<double> A, B, C;
        /// <summary>Step start times and sizes (Steps each); OutputAtStepEnd[n] = the output index reached at the end of step n, or −1.</summary>
        public ArrayView<double> StepStart, StepSize;
        public ArrayView<int> OutputAtStepEnd;
        public ArrayView<double> Y0, Theta, DLdStates;
        /// <summary>Tape: (Steps + 1) × S rows; scratch: the rows of <see cref="ScratchRows"/>; both interleaved (row·N + i).</summary>
        public ArrayView<double> Tape, Scratch;
        public ArrayView<double> States, GradInitial;
        public ArrayView<int> Status;
    }

    public static int ScratchRows(int S, int P, int stages, int work) => (3 * stages + 4) * S + 2 * P + System.Math.Max(work, 1);

    private static DeviceVector<double> Row(in Args a, ArrayView<double> v, long row, int i) => new(v, row * a.N + i, a.N);

    public static void Kernel<TField>(Index1D index, Args a, TField field) where TField : struct, IDeviceDynamics<double>
    {
        int i = index, S = a.S, s = a.Stages, P = a.P;
        if (i >= a.N) return;
        int rY = 0, rStage = S, rK = S + s * S, rBarA = rK + s * S, rBarY = rBarA + S, rBarK = rBarY + S, rGy = rBarK + s * S;
        int rGth = rGy + S, rThetaBar = rGth + P, rWork = rThetaBar + P;
        var theta = new DeviceVector<double>(a.Theta, 0, 1);
        var work = Row(a, a.Scratch, rWork, i);
        var y = Row(a, a.Scratch, rY, i);
        for (int j = 0; j < S; j++)
        {
            double v = a.Y0[(long)i * S + j];
            y[j] = v;
            a.Tape[(long)j * a.N + i] = v;
            a.States[(long)i * S + j] = v;
        }

        // forward
        int status = 0;
        for (int n = 0; n < a.Steps && status == 0; n++)
        {
            double t = a.StepStart[n], h = a.StepSize[n];
            Stages(a, field, theta, work, y, t, h, rStage, rK, i);
            bool finite = true;
            for (int j = 0; j < S; j++)
            {
                double acc = y[j];
                for (int q = 0; q < s; q++)
                {
                    double w = a.B[q];
                    double coef = w == 0 ? 0 : h * w;
                    if (coef != 0) acc += coef * Row(a, a.Scratch, rK + q * S, i)[j];
                }
                y[j] = acc;
                finite &= acc - acc == 0;
                a.Tape[((long)(n + 1) * S + j) * a.N + i] = acc;
            }
            if (!finite) status = 3; // NonFiniteState
            int o = a.OutputAtStepEnd[n];
            if (o >= 0)
                for (int j = 0; j < S; j++) a.States[((long)o * a.N + i) * S + j] = y[j];
        }
        a.Status[i] = status;

        // backward
        var barA = Row(a, a.Scratch, rBarA, i);
        var barY = Row(a, a.Scratch, rBarY, i);
        var gy = Row(a, a.Scratch, rGy, i);
        var gth = Row(a, a.Scratch, rGth, i);
        var thetaBar = Row(a, a.Scratch, rThetaBar, i);
        for (int p = 0; p < P; p++) thetaBar[p] = 0;
        for (int j = 0; j < S; j++) barA[j] = 0;
        for (int n = a.Steps - 1; n >= 0; n--)
        {
            int o = a.OutputAtStepEnd[n];
            if (o >= 0)
                for (int j = 0; j < S; j++) barA[j] += a.DLdStates[((long)o * a.N + i) * S + j];
            double t = a.StepStart[n], h = a.StepSize[n];
            for (int j = 0; j < S; j++) y[j] = a.Tape[((long)n * S + j) * a.N + i];
            Stages(a, field, theta, work, y, t, h, rStage, rK, i);
            for (int q = 0; q < s; q++)
            {
                var bk = Row(a, a.Scratch, rBarK + q * S, i);
                double w = a.B[q];
                for (int j = 0; j < S; j++) bk[j] = w == 0 ? 0 : h * w * barA[j];
            }
            for (int j = 0; j < S; j++) barY[j] = barA[j];
            for (int q = s - 1; q >= 0; q--)
            {
                var bk = Row(a, a.Scratch, rBarK + q * S, i);
                bool any = false;
                for (int j = 0; j < S; j++) any |= bk[j] != 0;
                if (!any) continue;
                var yq = Row(a, a.Scratch, rStage + q * S, i);
                field.VectorJacobianProduct(t + a.C[q] * h, yq, theta, bk, gy, gth, work);
                for (int p = 0; p < P; p++) thetaBar[p] += gth[p];
                for (int j = 0; j < S; j++) barY[j] += gy[j];
                for (int r = 0; r < q; r++)
                {
                    double w = a.A[q * s + r];
                    if (w == 0) continue;
                    var br = Row(a, a.Scratch, rBarK + r * S, i);
                    for (int j = 0; j < S; j++) br[j] += h * w * gy[j];
                }
            }
            for (int j = 0; j < S; j++) barA[j] = barY[j];
        }
        for (int j = 0; j < S; j++) a.GradInitial[(long)i * S + j] = barA[j] + a.DLdStates[(long)i * S + j];
    }

    /// <summary>Stage states Y_q (rows rStage + q·S) and slopes k_q = f(t + c_q h, Y_q) (rows rK + q·S) from y.</summary>
    private static void Stages<TField>(in Args a, TField field, DeviceVector<double> theta, DeviceVector<double> work, DeviceVector<double> y,
        double t, double h, int rStage, int rK, int i) where TField : struct, IDeviceDynamics<double>
    {
        int S = a.S, s = a.Stages;
        for (int q = 0; q < s; q++)
        {
            var yq = Row(a, a.Scratch, rStage + q * S, i);
            for (int j = 0; j < S; j++)
            {
                double acc = y[j];
                for (int r = 0; r < q; r++)
                {
                    double w = a.A[q * s + r];
                    double coef = w == 0 ? 0 : h * w;
                    if (coef != 0) acc += coef * Row(a, a.Scratch, rK + r * S, i)[j];
                }
                yq[j] = acc;
            }
            field.Forward(t + a.C[q] * h, yq, theta, Row(a, a.Scratch, rK + q * S, i), work);
        }
    }
}
