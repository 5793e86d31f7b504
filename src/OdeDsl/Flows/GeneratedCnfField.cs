using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// Any generated <c>[OdeDynamics]</c> type with a divergence VJP (<see cref="IDivergenceVjpDynamics{TSelf}"/>) as a CNF
/// field: <c>ContinuousFlow&lt;GeneratedCnfField&lt;MyField.Dynamics&gt;, float&gt;</c> trains the user's own field with the
/// exact trace or Hutchinson's estimator, by backprop or the adjoint, samples from it and evaluates log-densities. f, the trace and their reverse
/// mode are generated (reverse over the trace's forward-mode sweeps, exact).
/// </summary>
/// <remarks>
/// Hutchinson's estimator uses the generated directional methods (the JVP along ε and its reverse mode) through
/// <see cref="Forward{T}"/> and <see cref="Backward{T}"/>, for one direction (the estimator's K = 1).
/// <see cref="ForwardTrace{T}"/> runs the generated <c>EvaluateWithDivergenceForReverse</c> (the divergence program's
/// forward sweep, values kept) and <see cref="BackwardTrace{T}"/> its reverse sweep, <c>DivergenceVectorJacobianProduct</c>,
/// on z and t kept in the workspace.
/// </remarks>
public sealed class GeneratedCnfField<TDynamics> : ICnfField<GeneratedCnfField<TDynamics>>
    where TDynamics : IDivergenceVjpDynamics<TDynamics>
{
    private GeneratedCnfField() { }

    public static int Dimension => TDynamics.StateSize;
    public static int ParameterCount => TDynamics.ParameterCount;
    public static ParameterLayout Layout => TDynamics.Layout;

    /// <summary>t rows, z kept for the backward pass, ∂/∂t rows, [z, v] rows and their gradients, then the generated code's workspace.</summary>
    public static int WorkspaceLength(int batch, int directions) =>
        batch * (2 + 5 * Dimension) + Math.Max(TDynamics.DivergenceWorkspaceLength(batch), TDynamics.DirectionalWorkspaceLength(batch));

    private readonly ref struct Buffers<T> where T : unmanaged
    {
        public readonly Span<T> Times, Z, GradT, Zv, GradZv, Generated;

        public Buffers(Span<T> ws, int batch)
        {
            int n = batch * Dimension;
            Times = ws.Slice(0, batch);
            Z = ws.Slice(batch, n);
            GradT = ws.Slice(batch + n, batch);
            Zv = ws.Slice(2 * batch + n, 2 * n);
            GradZv = ws.Slice(2 * batch + 3 * n, 2 * n);
            Generated = ws.Slice(2 * batch + 5 * n);
        }
    }

    public static void ForwardTrace<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = Dimension;
        CnfGuard.Check(d, ParameterCount, theta.Length, z.Length, d * batch * d, d, batch, workspace.Length, WorkspaceLength(batch, d));
        var buf = new Buffers<T>(workspace, batch);
        buf.Times.Fill(t);
        z.Slice(0, batch * d).CopyTo(buf.Z);
        TDynamics.EvaluateWithDivergenceForReverse(buf.Times, buf.Z, theta, f.Slice(0, batch * d), trace.Slice(0, batch), batch,
            buf.Generated.Slice(0, TDynamics.DivergenceWorkspaceLength(batch)));
    }

    public static T BackwardTrace<T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace,
        Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = Dimension;
        var buf = Reverse(t, theta, gradTheta, batch, workspace);
        TDynamics.DivergenceVectorJacobianProduct(buf.Times, buf.Z, theta, cotF.Slice(0, batch * d), cotTrace.Slice(0, batch),
            gradZ.Slice(0, batch * d), gradTheta, buf.GradT, batch, buf.Generated.Slice(0, TDynamics.DivergenceWorkspaceLength(batch)));
        return Sum(buf.GradT);
    }

    /// <summary>f and jv = (∂f/∂z)·v for one direction (Hutchinson's K = 1), by the generated DirectionalForward on rows [z, v].</summary>
    public static void Forward<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, ReadOnlySpan<T> v, int directions,
        Span<T> f, Span<T> jv, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = Dimension;
        if (directions != 1) throw OneDirection(directions);
        CnfGuard.Check(d, ParameterCount, theta.Length, z.Length, v.Length, directions, batch, workspace.Length, WorkspaceLength(batch, directions));
        var buf = new Buffers<T>(workspace, batch);
        buf.Times.Fill(t);
        for (int b = 0; b < batch; b++)
        {
            z.Slice(b * d, d).CopyTo(buf.Zv.Slice(2 * b * d, d));
            v.Slice(b * d, d).CopyTo(buf.Zv.Slice(2 * b * d + d, d));
        }
        TDynamics.DirectionalForward(buf.Times, buf.Zv, theta, f.Slice(0, batch * d), jv.Slice(0, batch * d), batch,
            buf.Generated.Slice(0, TDynamics.DirectionalWorkspaceLength(batch)));
    }

    /// <summary>The reverse mode of <see cref="Forward{T}"/> (called just before), by the generated DirectionalVectorJacobianProduct.</summary>
    public static T Backward<T>(T t, ReadOnlySpan<T> theta, int directions, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotJv,
        Span<T> gradZ, Span<T> gradV, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = Dimension;
        if (directions != 1) throw OneDirection(directions);
        var buf = Reverse(t, theta, gradTheta, batch, workspace);
        TDynamics.DirectionalVectorJacobianProduct(buf.Times, buf.Zv, theta, cotF.Slice(0, batch * d), cotJv.Slice(0, batch * d),
            buf.GradZv, gradTheta, buf.GradT, batch, buf.Generated.Slice(0, TDynamics.DirectionalWorkspaceLength(batch)));
        for (int b = 0; b < batch; b++)
        {
            buf.GradZv.Slice(2 * b * d, d).CopyTo(gradZ.Slice(b * d, d));
            if (!gradV.IsEmpty) buf.GradZv.Slice(2 * b * d + d, d).CopyTo(gradV.Slice(b * d, d));
        }
        return Sum(buf.GradT);
    }

    /// <summary>Checks of a backward call; the buffers of the forward call it follows.</summary>
    private static Buffers<T> Reverse<T>(T t, ReadOnlySpan<T> theta, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (gradTheta.Length != ParameterCount)
            throw new ArgumentException($"gradTheta has {gradTheta.Length} elements; {typeof(TDynamics).Name} has {ParameterCount} parameters.", nameof(gradTheta));
        DynamicsGuard.Length(workspace.Length, WorkspaceLength(batch, 1), nameof(workspace));
        var buf = new Buffers<T>(workspace, batch);
        if (buf.Times[0] != t)
            throw new InvalidOperationException($"The backward call at t = {t} does not follow its forward call (at t = {buf.Times[0]}) on this workspace.");
        return buf;
    }

    // the rows share t: ∂/∂t of the batch is the sum of the rows' ∂/∂t
    private static T Sum<T>(ReadOnlySpan<T> rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        foreach (var g in rows) sum += g;
        return sum;
    }

    private static NotSupportedException OneDirection(int directions) => new(
        $"{nameof(GeneratedCnfField<TDynamics>)}<{typeof(TDynamics).Name}> takes one direction per call (Hutchinson's estimator), not {directions}; " +
        "the exact trace goes through ForwardTrace/BackwardTrace.");
}
