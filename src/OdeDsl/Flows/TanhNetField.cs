using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// A CNF field that is a <see cref="TanhNet"/> whose effective weights are computed from (θ, t): the field says only how
/// to write those weights into a frame and how to map their gradients back to θ and t; <see cref="TanhNetField"/>
/// supplies the <see cref="ICnfField{TSelf}"/> entry points (argument checks, frame set-up, the network's sweeps).
/// </summary>
internal interface ITanhNetField<TSelf> : ICnfField<TSelf> where TSelf : ITanhNetField<TSelf>
{
    static abstract NetShape Shape { get; }

    /// <summary>(θ, t) → the effective weights in <paramref name="fr"/>.</summary>
    static abstract void SetWeights<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> workspace, int batch, int directions)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The effective weights' gradients (in the frame) back to θ (ADDED into gradTheta); returns ∂/∂t.</summary>
    static abstract T MapGradients<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> gradTheta, Span<T> workspace, int batch, int directions)
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>The <see cref="ICnfField{TSelf}"/> members shared by every <see cref="ITanhNetField{TSelf}"/>.</summary>
internal static class TanhNetField
{
    public static void Forward<TField, T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, ReadOnlySpan<T> v, int directions,
        Span<T> f, Span<T> jv, int batch, Span<T> workspace)
        where TField : ITanhNetField<TField> where T : unmanaged, IFloatingPointIeee754<T>
    {
        CnfGuard.Check(TField.Dimension, TField.ParameterCount, theta.Length, z.Length, v.Length, directions, batch, workspace.Length,
            TField.WorkspaceLength(batch, directions));
        var fr = new TanhNet.Frame<T>(TField.Shape, workspace, batch, directions);
        TField.SetWeights(t, theta, fr, workspace, batch, directions);
        TanhNet.Forward(TField.Shape, fr, z, v, f, jv);
    }

    public static void ForwardTrace<TField, T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace, int batch, Span<T> workspace)
        where TField : ITanhNetField<TField> where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = TField.Dimension;
        CnfGuard.Check(d, TField.ParameterCount, theta.Length, z.Length, d * batch * d, d, batch, workspace.Length, TField.WorkspaceLength(batch, d));
        var fr = new TanhNet.Frame<T>(TField.Shape, workspace, batch, d);
        TField.SetWeights(t, theta, fr, workspace, batch, d);
        TanhNet.ForwardTrace(TField.Shape, fr, z, f, trace);
    }

    public static T Backward<TField, T>(T t, ReadOnlySpan<T> theta, int directions, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotJv,
        Span<T> gradZ, Span<T> gradV, Span<T> gradTheta, int batch, Span<T> workspace)
        where TField : ITanhNetField<TField> where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckGradTheta<TField, T>(gradTheta);
        var fr = new TanhNet.Frame<T>(TField.Shape, workspace, batch, directions);
        fr.EffGrad.Clear();
        TanhNet.Backward(TField.Shape, fr, cotF, cotJv, gradZ, gradV);
        return TField.MapGradients(t, theta, fr, gradTheta, workspace, batch, directions);
    }

    public static T BackwardTrace<TField, T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace,
        Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        where TField : ITanhNetField<TField> where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckGradTheta<TField, T>(gradTheta);
        int d = TField.Dimension;
        var fr = new TanhNet.Frame<T>(TField.Shape, workspace, batch, d);
        fr.EffGrad.Clear();
        TanhNet.BackwardTrace(TField.Shape, fr, cotF, cotTrace, gradZ);
        return TField.MapGradients(t, theta, fr, gradTheta, workspace, batch, d);
    }

    public static int TraceKeptPerRow<TField>() where TField : ITanhNetField<TField> => TanhNet.TraceKeptPerRow(TField.Shape);

    public static void ForwardTraceKeeping<TField, T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace, Span<T> kept,
        int batch, Span<T> workspace)
        where TField : ITanhNetField<TField> where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckKept<TField, T>(kept, batch);
        ForwardTrace<TField, T>(t, z, theta, f, trace, batch, workspace);
        TanhNet.KeepTrace(TField.Shape, new TanhNet.Frame<T>(TField.Shape, workspace, batch, TField.Dimension), kept);
    }

    public static T BackwardTraceFromKept<TField, T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> z, ReadOnlySpan<T> kept, ReadOnlySpan<T> cotF,
        ReadOnlySpan<T> cotTrace, Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        where TField : ITanhNetField<TField> where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = TField.Dimension;
        CheckKept<TField, T>(kept, batch);
        CnfGuard.Check(d, TField.ParameterCount, theta.Length, z.Length, d * batch * d, d, batch, workspace.Length, TField.WorkspaceLength(batch, d));
        CheckGradTheta<TField, T>(gradTheta);
        var fr = new TanhNet.Frame<T>(TField.Shape, workspace, batch, d);
        TField.SetWeights(t, theta, fr, workspace, batch, d);   // per call and cheap; the batched forward is what kept saves
        bool fused = TanhNet.FusesTraceSweep<T>(TField.Shape);   // once: the restore leaves what that sweep reads
        TanhNet.RestoreTrace(TField.Shape, fr, z, kept, fused);
        fr.EffGrad.Clear();
        TanhNet.BackwardTrace(TField.Shape, fr, cotF, cotTrace, gradZ, kept, fused);
        return TField.MapGradients(t, theta, fr, gradTheta, workspace, batch, d);
    }

    private static void CheckKept<TField, T>(ReadOnlySpan<T> kept, int batch) where TField : ITanhNetField<TField>
    {
        int perRow = TanhNet.TraceKeptPerRow(TField.Shape);
        if (perRow == 0) throw new NotSupportedException($"{typeof(TField).Name} keeps no activations: its trace has no shortcut.");
        if (kept.Length != batch * perRow)
            throw new ArgumentException($"kept has {kept.Length} elements; {typeof(TField).Name} keeps {perRow} per row, {batch * perRow} for {batch} rows.", nameof(kept));
    }

    private static void CheckGradTheta<TField, T>(Span<T> gradTheta) where TField : ITanhNetField<TField>
    {
        if (gradTheta.Length != TField.ParameterCount)
            throw new ArgumentException($"gradTheta has {gradTheta.Length} elements; {typeof(TField).Name} has {TField.ParameterCount} parameters.", nameof(gradTheta));
    }
}
