using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// The shared body of the (z, Δlog p) augmented systems. Rows are [z (d), Δlog p] for the exact trace and
/// [z, Δlog p, ε (d)] for the Hutchinson estimator, whose noise rides in the state with dε/dt = 0 so that it stays
/// fixed for the whole solve (FFJORD samples it once per solve, before odeint) and the static dynamics need no
/// per-solve instance. d(Δlog p)/dt = −q with q = tr(∂f/∂z) = Σ_k e_kᵀ(∂f/∂z)e_k (K = d directions) or q = εᵀ(∂f/∂z)ε.
/// </summary>
/// <remarks>
/// Gradients: the cotangent of −q on each jv_k = (∂f/∂z)v_k is −ā_logp·w_k with w_k = v_k, so the reverse sweep of
/// the field (reverse over forward: the tangent computation itself is differentiated, exactly) gives ∂q/∂θ and
/// ∂q/∂z with the same work as one more VJP per direction. Nothing is approximated.
/// </remarks>
internal static class CnfAugmentedCore<TField> where TField : ICnfField<TField>
{
    private static int D => TField.Dimension;

    public static int Directions(bool hutchinson) => hutchinson ? 1 : D;
    public static int StateSize(bool hutchinson) => hutchinson ? 2 * D + 1 : D + 1;

    /// <summary>Field scratch, then z, v, f, jv, cotF, cotJv, gradZ, gradV.</summary>
    public static int WorkspaceLength(int batch, bool hutchinson)
    {
        int k = Directions(hutchinson);
        return TField.WorkspaceLength(batch, k) + batch * D * (4 + 4 * k);
    }

    /// <summary>The workspace's parts (shared with CnfRegularizedCore, which uses the same layout).</summary>
    internal readonly ref struct Buffers<T> where T : unmanaged
    {
        public readonly Span<T> Field, Z, V, F, Jv, CotF, CotJv, GradZ, GradV;

        public Buffers(Span<T> ws, int batch, int k)
        {
            int n = batch * D, fl = TField.WorkspaceLength(batch, k);
            Field = ws.Slice(0, fl);
            var r = ws.Slice(fl);
            Z = r.Slice(0, n); r = r.Slice(n);
            V = r.Slice(0, k * n); r = r.Slice(k * n);
            F = r.Slice(0, n); r = r.Slice(n);
            Jv = r.Slice(0, k * n); r = r.Slice(k * n);
            CotF = r.Slice(0, n); r = r.Slice(n);
            CotJv = r.Slice(0, k * n); r = r.Slice(k * n);
            GradZ = r.Slice(0, n); r = r.Slice(n);
            GradV = r.Slice(0, k * n);
        }
    }

    /// <summary>
    /// Elements per row the exact-trace system keeps for backprop's reverse sweep: the field's
    /// (<see cref="ICnfField{TSelf}.TraceKeptPerRow"/>). The Hutchinson system keeps nothing.
    /// </summary>
    public static int KeptPerRow(bool hutchinson) => hutchinson ? 0 : TField.TraceKeptPerRow;

    /// <summary>
    /// Runs the field's forward at the rows' common time; dh = [f, −q (, 0)]; q per row into <paramref name="trace"/> if not
    /// empty; what the field's reverse sweep reads into <paramref name="kept"/> if not empty (exact trace only).
    /// </summary>
    public static void Evaluate<T>(bool hutchinson, ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        Span<T> trace, int batch, Span<T> workspace, Span<T> kept = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = StateSize(hutchinson), k = Directions(hutchinson), d = D;
        Check(hutchinson, t, h, theta, dh, batch, workspace);
        var buf = new Buffers<T>(workspace, batch, k);
        T time = CommonTime(t, batch);
        Gather(h, S, 0, buf.Z, batch);
        if (kept.IsEmpty) ForwardPass(hutchinson, time, h, theta, buf, batch);
        else if (hutchinson) throw new NotSupportedException("The Hutchinson system keeps no activations.");
        else TField.ForwardTraceKeeping(time, buf.Z, theta, buf.F, buf.Jv.Slice(0, batch), kept, batch, buf.Field);
        if (!hutchinson)
        {
            // [f, −q] per row by index: span slicing and copying per 3-element row cost as much as the field's tanh
            ReadOnlySpan<T> f = buf.F.Slice(0, batch * d), q = buf.Jv.Slice(0, batch);   // ForwardPass left the trace in Jv
            Span<T> rows = dh.Slice(0, batch * S);
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < d; i++) rows[b * S + i] = f[b * d + i];
                rows[b * S + d] = -q[b];
            }
            if (!trace.IsEmpty) q.CopyTo(trace);
            return;
        }
        for (int b = 0; b < batch; b++)
        {
            var row = dh.Slice(b * S, S);
            buf.F.Slice(b * d, d).CopyTo(row);
            T q = Quadratic(buf, b, batch, k, hutchinson);
            row[d] = -q;
            if (hutchinson) row.Slice(d + 1, d).Clear();
            if (!trace.IsEmpty) trace[b] = q;
        }
    }

    /// <summary>Evaluate (dh, when not empty) and the VJP for the cotangent a (rows like the state).</summary>
    public static void EvaluateAndVjp<T>(bool hutchinson, ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> a, Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = StateSize(hutchinson), k = Directions(hutchinson), d = D;
        Check(hutchinson, t, h, theta, gradH, batch, workspace);
        DynamicsGuard.Rows(a.Length, batch, S, nameof(a));
        DynamicsGuard.Rows(gradT.Length, batch, 1, nameof(gradT));
        var buf = new Buffers<T>(workspace, batch, k);
        T time = CommonTime(t, batch);
        Gather(h, S, 0, buf.Z, batch);
        ForwardPass(hutchinson, time, h, theta, buf, batch);
        Gather(a, S, 0, buf.CotF, batch);
        T gt;
        if (hutchinson)
        {
            // the cotangent of jv = (∂f/∂z)ε is −ā_logp·ε (q = εᵀ jv)
            for (int b = 0; b < batch; b++)
            {
                T al = -a[b * S + d];
                for (int i = 0; i < d; i++) buf.CotJv[b * d + i] = al * buf.V[b * d + i];
            }
            gt = TField.Backward(time, theta, k, buf.CotF, buf.CotJv, buf.GradZ, buf.GradV, gradTheta, batch, buf.Field);
        }
        else
        {
            var cotTrace = buf.CotJv.Slice(0, batch);
            for (int b = 0; b < batch; b++) cotTrace[b] = -a[b * S + d];
            gt = TField.BackwardTrace(time, theta, buf.CotF, cotTrace, buf.GradZ, gradTheta, batch, buf.Field);
        }
        WriteVjp(hutchinson, a, dh, gradH, gradT, gt, batch, buf);
    }

    /// <summary>
    /// The exact-trace VJP at a point that <see cref="Evaluate{T}"/> evaluated over the same rows, keeping
    /// <paramref name="kept"/>: the field's reverse sweep starts from it instead of a fresh forward pass.
    /// </summary>
    public static void VjpFromKept<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> kept,
        ReadOnlySpan<T> a, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = StateSize(false), d = D;
        Check(false, t, h, theta, gradH, batch, workspace);
        DynamicsGuard.Rows(a.Length, batch, S, nameof(a));
        DynamicsGuard.Rows(gradT.Length, batch, 1, nameof(gradT));
        var buf = new Buffers<T>(workspace, batch, d);
        T time = CommonTime(t, batch);
        Gather(h, S, 0, buf.Z, batch);
        Gather(a, S, 0, buf.CotF, batch);
        var cotTrace = buf.CotJv.Slice(0, batch);
        for (int b = 0; b < batch; b++) cotTrace[b] = -a[b * S + d];
        T gt = TField.BackwardTraceFromKept(time, theta, buf.Z, kept, buf.CotF, cotTrace, buf.GradZ, gradTheta, batch, buf.Field);
        WriteVjp(false, a, default, gradH, gradT, gt, batch, buf);
    }

    /// <summary>The VJP's rows from the field's gradients (and dh, when not empty, from its forward pass).</summary>
    private static void WriteVjp<T>(bool hutchinson, ReadOnlySpan<T> a, Span<T> dh, Span<T> gradH, Span<T> gradT, T gt, int batch, in Buffers<T> buf)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = StateSize(hutchinson), k = Directions(hutchinson), d = D;
        if (!hutchinson && dh.IsEmpty)
        {
            // by index, as in Evaluate: the exact-trace VJP's rows are [∂/∂z, 0]
            ReadOnlySpan<T> gz = buf.GradZ.Slice(0, batch * d);
            Span<T> rows = gradH.Slice(0, batch * S);
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < d; i++) rows[b * S + i] = gz[b * d + i];
                rows[b * S + d] = T.Zero;
            }
        }
        else
        {
            for (int b = 0; b < batch; b++)
            {
                var row = gradH.Slice(b * S, S);
                buf.GradZ.Slice(b * d, d).CopyTo(row);
                row[d] = T.Zero;
                if (hutchinson)
                {
                    // ∂(−ā_l εᵀJε)/∂ε = −ā_l Jε + Jᵀ(−ā_l ε); the second term is the reverse sweep's ∂/∂v
                    T al = -a[b * S + d];
                    for (int i = 0; i < d; i++) row[d + 1 + i] = al * buf.Jv[b * d + i] + buf.GradV[b * d + i];
                }
                if (!dh.IsEmpty)
                {
                    var drow = dh.Slice(b * S, S);
                    buf.F.Slice(b * d, d).CopyTo(drow);
                    drow[d] = -Quadratic(buf, b, batch, k, hutchinson);
                    if (hutchinson) drow.Slice(d + 1, d).Clear();
                }
            }
        }
        // the time-dependent weights are shared by the batch: ∂/∂t is one number, reported in row 0
        gradT.Slice(0, batch).Clear();
        gradT[0] = gt;
    }

    private static T Quadratic<T>(in Buffers<T> buf, int b, int batch, int k, bool hutchinson)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = D;
        return hutchinson
            ? System.Numerics.Tensors.TensorPrimitives.Dot<T>(buf.V.Slice(b * d, d), buf.Jv.Slice(b * d, d))
            : buf.Jv[b];   // ForwardPass left the exact trace there
    }

    private static void Gather<T>(ReadOnlySpan<T> rows, int stride, int offset, Span<T> dst, int batch) where T : unmanaged
    {
        int d = D;
        if (offset + d > stride || rows.Length < batch * stride || dst.Length < batch * d)
            throw new ArgumentException("Gather: extents out of range.");
        // by reference after the check above: the bounds checks of an indexed loop cost more than these 2-element copies
        ref T src = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(rows);
        ref T to = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dst);
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < d; i++)
                System.Runtime.CompilerServices.Unsafe.Add(ref to, b * d + i) = System.Runtime.CompilerServices.Unsafe.Add(ref src, b * stride + offset + i);
    }

    /// <summary>Exact: f and the trace (into Jv[0, batch)); Hutchinson: f and (∂f/∂z)ε with ε from the state.</summary>
    private static void ForwardPass<T>(bool hutchinson, T time, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, in Buffers<T> buf, int batch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (hutchinson)
        {
            Gather(h, 2 * D + 1, D + 1, buf.V, batch);
            TField.Forward(time, buf.Z, theta, buf.V, 1, buf.F, buf.Jv, batch, buf.Field);
        }
        else TField.ForwardTrace(time, buf.Z, theta, buf.F, buf.Jv.Slice(0, batch), batch, buf.Field);
    }

    /// <summary>The rows' shared time. The fields compute time-dependent weights once per call, so rows must agree.</summary>
    internal static T CommonTime<T>(ReadOnlySpan<T> t, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T t0 = t[0];
        for (int b = 1; b < batch; b++)
            if (t[b] != t0)
                throw new NotSupportedException(
                    $"CNF dynamics need one time per call (BatchStepMode.Shared); row 0 has t = {t0}, row {b} has t = {t[b]}.");
        return t0;
    }

    private static void Check<T>(bool hutchinson, ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> outRows,
        int batch, ReadOnlySpan<T> workspace) where T : unmanaged
    {
        int S = StateSize(hutchinson);
        DynamicsGuard.Rows(t.Length, batch, 1, nameof(t));
        DynamicsGuard.Rows(h.Length, batch, S, nameof(h));
        DynamicsGuard.Length(theta.Length, TField.ParameterCount, nameof(theta));
        DynamicsGuard.Rows(outRows.Length, batch, S, "output");
        DynamicsGuard.Length(workspace.Length, WorkspaceLength(batch, hutchinson), nameof(workspace));
    }
}
