using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl.Flows;

/// <summary>
/// The CNF augmented system with the two regularisers of Finlay et al. 2020 ("How to train your neural ODE", RNODE)
/// integrated as extra states: rows [z (d), Δlog p, E_K, E_J] (exact trace) or [z, Δlog p, ε (d), E_K, E_J]
/// (Hutchinson) with
/// <code>
///   dE_K/dt = ‖f‖²                       kinetic energy
///   dE_J/dt = Σ_k ‖(∂f/∂z) v_k‖²          Jacobian Frobenius norm: v_k = e_k (k &lt; d) exactly, or v = ε (one direction)
/// </code>
/// E‖Jε‖² = tr(Jᵀ J E[εεᵀ]) = ‖J‖²_F for noise of identity covariance, so the one-direction form is unbiased; it reuses
/// the Jε that the trace estimator εᵀJε computes anyway, with the same ε (fixed per solve in the state). RNODE writes the
/// estimate as ‖εᵀJ‖² (a VJP, cheap in PyTorch's reverse mode); ‖Jε‖² has the same expectation and is what this
/// library's forward-mode tangent rows give. With the exact trace the d tangent rows J e_k give ‖J‖²_F exactly.
/// </summary>
/// <remarks>
/// <para>Gradients (the VJP for the cotangent a = [ā_z, ā_l, (ā_ε,) ā_K, ā_J]). The field computes f and jv_k = J v_k
/// in one forward sweep with tangent rows; its reverse sweep takes cotangents on f and on every jv_k. The augmented
/// right-hand side's scalar ⟨a, dh⟩ = ⟨ā_z, f⟩ − ā_l q + ā_K ‖f‖² + ā_J Σ_k ‖jv_k‖², with q = Σ_k ⟨w_k, jv_k⟩
/// (w_k = e_k for the exact trace, w = ε for Hutchinson), so</para>
/// <code>
///   cotangent of f    :  ā_z + 2 ā_K f
///   cotangent of jv_k :  −ā_l w_k + 2 ā_J jv_k
///   ∂/∂ε (Hutchinson) :  −ā_l jv + Jᵀ(−ā_l ε + 2 ā_J jv)     (q and jv both depend on ε; the second term is the sweep's ∂/∂v)
/// </code>
/// <para>The second-order terms are in the field's reverse sweep over its tangent computation (TanhNet.Backward): for
/// a hidden layer a = W x₋ + c, x = tanh(a), the tangent is p_k = W ẋ₋,k, ẋ_k = (1 − x²) ⊙ p_k. With cotangents x̄
/// and ū_k on x and ẋ_k, ∂ẋ_k/∂a = −2x(1 − x²) ⊙ p_k gives ā = (1 − x²) ⊙ (x̄ − 2x ⊙ Σ_k ū_k ⊙ p_k), p̄_k = (1 − x²) ⊙ ū_k,
/// and W̄ = ā x₋ᵀ + Σ_k p̄_k ẋ₋,kᵀ, x̄₋ = Wᵀ ā, ū₋,k = Wᵀ p̄_k (the tangent rows ride in the same GEMMs as the primal).
/// So ∂E_J'/∂θ and ∂E_J'/∂z are exact second derivatives of f; no finite differences, no extra estimator.</para>
/// <para>The regularisers feed nothing back into z or Δlog p, so their states' cotangents are constant in time; the
/// caller keeps them out of the forward error norm (FFJORD and RNODE give them tolerances of 1e20).</para>
/// </remarks>
internal static class CnfRegularizedCore<TField> where TField : ICnfField<TField>
{
    private static int D => TField.Dimension;

    public static int Directions(bool hutchinson) => CnfAugmentedCore<TField>.Directions(hutchinson);
    public static int StateSize(bool hutchinson) => hutchinson ? 2 * D + 3 : D + 3;
    /// <summary>Index of E_K in a row (E_J follows).</summary>
    public static int KineticIndex(bool hutchinson) => hutchinson ? 2 * D + 1 : D + 1;

    /// <summary>The unregularised core's workspace: the E_K / E_J terms need no scratch of their own.</summary>
    public static int WorkspaceLength(int batch, bool hutchinson) => CnfAugmentedCore<TField>.WorkspaceLength(batch, hutchinson);

    public static void Evaluate<T>(bool hutchinson, ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(hutchinson, t, h, theta, dh, batch, workspace);
        var buf = new CnfAugmentedCore<TField>.Buffers<T>(workspace, batch, Directions(hutchinson));
        ForwardPass(hutchinson, CnfAugmentedCore<TField>.CommonTime(t, batch), h, theta, buf, batch);
        WriteDerivatives(hutchinson, buf, dh, batch);
    }

    public static void EvaluateAndVjp<T>(bool hutchinson, ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> a, Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = StateSize(hutchinson), k = Directions(hutchinson), d = D, n = batch * d, iK = KineticIndex(hutchinson);
        Check(hutchinson, t, h, theta, gradH, batch, workspace);
        DynamicsGuard.Rows(a.Length, batch, S, nameof(a));
        DynamicsGuard.Rows(gradT.Length, batch, 1, nameof(gradT));
        var buf = new CnfAugmentedCore<TField>.Buffers<T>(workspace, batch, k);
        T time = CnfAugmentedCore<TField>.CommonTime(t, batch);
        ForwardPass(hutchinson, time, h, theta, buf, batch);
        T two = T.CreateChecked(2);
        for (int b = 0; b < batch; b++)
        {
            var ab = a.Slice(b * S, S);
            T al = -ab[d], twoK = two * ab[iK], twoJ = two * ab[iK + 1];
            for (int i = 0; i < d; i++) buf.CotF[b * d + i] = ab[i] + twoK * buf.F[b * d + i];
            for (int j = 0; j < k; j++)
                for (int i = 0; i < d; i++)
                {
                    int at = j * n + b * d + i;
                    buf.CotJv[at] = al * buf.V[at] + twoJ * buf.Jv[at];
                }
        }
        T gt = TField.Backward(time, theta, k, buf.CotF, buf.CotJv, buf.GradZ, hutchinson ? buf.GradV : default, gradTheta, batch, buf.Field);
        for (int b = 0; b < batch; b++)
        {
            var row = gradH.Slice(b * S, S);
            row.Clear();
            buf.GradZ.Slice(b * d, d).CopyTo(row);
            if (hutchinson)
            {
                T al = -a[b * S + d];
                for (int i = 0; i < d; i++) row[d + 1 + i] = al * buf.Jv[b * d + i] + buf.GradV[b * d + i];
            }
        }
        if (!dh.IsEmpty) WriteDerivatives(hutchinson, buf, dh, batch);
        // the time-dependent weights are shared by the batch: ∂/∂t is one number, reported in row 0
        gradT.Slice(0, batch).Clear();
        gradT[0] = gt;
    }

    /// <summary>dh rows [f, −q, (0,) ‖f‖², Σ_k ‖jv_k‖²] from the forward sweep's f and jv.</summary>
    private static void WriteDerivatives<T>(bool hutchinson, in CnfAugmentedCore<TField>.Buffers<T> buf, Span<T> dh, int batch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = StateSize(hutchinson), k = Directions(hutchinson), d = D, n = batch * d, iK = KineticIndex(hutchinson);
        for (int b = 0; b < batch; b++)
        {
            var row = dh.Slice(b * S, S);
            row.Clear();
            var fb = buf.F.Slice(b * d, d);
            fb.CopyTo(row);
            T q = T.Zero, frob = T.Zero;
            for (int j = 0; j < k; j++)
            {
                var jv = buf.Jv.Slice(j * n + b * d, d);
                q += hutchinson ? TensorPrimitives.Dot<T>(buf.V.Slice(b * d, d), jv) : jv[j];
                frob += TensorPrimitives.SumOfSquares<T>(jv);
            }
            row[d] = -q;
            row[iK] = TensorPrimitives.SumOfSquares<T>(fb);
            row[iK + 1] = frob;
        }
    }

    /// <summary>f and jv_k = J v_k with v = ε from the state (Hutchinson) or the basis vectors e_k (exact).</summary>
    private static void ForwardPass<T>(bool hutchinson, T time, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, in CnfAugmentedCore<TField>.Buffers<T> buf, int batch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = StateSize(hutchinson), d = D, n = batch * d;
        for (int b = 0; b < batch; b++)
        {
            h.Slice(b * S, d).CopyTo(buf.Z.Slice(b * d, d));
            if (hutchinson) h.Slice(b * S + d + 1, d).CopyTo(buf.V.Slice(b * d, d));
        }
        if (!hutchinson)
        {
            buf.V.Clear();
            for (int j = 0; j < d; j++)
                for (int b = 0; b < batch; b++) buf.V[j * n + b * d + j] = T.One;
        }
        TField.Forward(time, buf.Z, theta, buf.V, Directions(hutchinson), buf.F, buf.Jv, batch, buf.Field);
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
