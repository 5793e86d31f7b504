using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// Any generated <c>[OdeDynamics]</c> type with a divergence VJP (<see cref="IDivergenceVjpDynamics{TSelf}"/>) as a CNF
/// field: <c>ContinuousFlow&lt;GeneratedCnfField&lt;MyField.Dynamics&gt;, float&gt;</c> trains the user's own field with the
/// exact trace, by backprop or the adjoint, samples from it and evaluates log-densities. f, the trace and their reverse
/// mode are generated (reverse over the trace's forward-mode sweeps, exact).
/// </summary>
/// <remarks>
/// Exact trace only: Hutchinson's estimator would need the reverse mode of a JVP along a given direction, which the
/// generator does not emit, so <see cref="Forward{T}"/> and <see cref="Backward{T}"/> (K directions) throw
/// <see cref="NotSupportedException"/> (use <see cref="TraceEstimator.Exact"/>, or a library field for Hutchinson).
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

    /// <summary>t rows, z kept for the backward pass, ∂/∂t rows, then the generated code's workspace.</summary>
    public static int WorkspaceLength(int batch, int directions) =>
        batch * (2 + Dimension) + TDynamics.DivergenceWorkspaceLength(batch);

    private readonly ref struct Buffers<T> where T : unmanaged
    {
        public readonly Span<T> Times, Z, GradT, Generated;

        public Buffers(Span<T> ws, int batch)
        {
            int n = batch * Dimension;
            Times = ws.Slice(0, batch);
            Z = ws.Slice(batch, n);
            GradT = ws.Slice(batch + n, batch);
            Generated = ws.Slice(2 * batch + n);
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
        if (gradTheta.Length != ParameterCount)
            throw new ArgumentException($"gradTheta has {gradTheta.Length} elements; {typeof(TDynamics).Name} has {ParameterCount} parameters.", nameof(gradTheta));
        DynamicsGuard.Length(workspace.Length, WorkspaceLength(batch, d), nameof(workspace));
        var buf = new Buffers<T>(workspace, batch);
        if (buf.Times[0] != t)
            throw new InvalidOperationException($"{nameof(BackwardTrace)} at t = {t} does not follow {nameof(ForwardTrace)} (at t = {buf.Times[0]}) on this workspace.");
        TDynamics.DivergenceVectorJacobianProduct(buf.Times, buf.Z, theta, cotF.Slice(0, batch * d), cotTrace.Slice(0, batch),
            gradZ.Slice(0, batch * d), gradTheta, buf.GradT, batch, buf.Generated.Slice(0, TDynamics.DivergenceWorkspaceLength(batch)));
        // the rows share t: ∂/∂t of the batch is the sum of the rows' ∂/∂t
        T sum = T.Zero;
        foreach (var g in buf.GradT) sum += g;
        return sum;
    }

    public static void Forward<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, ReadOnlySpan<T> v, int directions,
        Span<T> f, Span<T> jv, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw HutchinsonNotSupported();

    public static T Backward<T>(T t, ReadOnlySpan<T> theta, int directions, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotJv,
        Span<T> gradZ, Span<T> gradV, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw HutchinsonNotSupported();

    private static NotSupportedException HutchinsonNotSupported() => new(
        $"{nameof(GeneratedCnfField<TDynamics>)}<{typeof(TDynamics).Name}> supports the exact trace only (TraceEstimator.Exact): " +
        "the generator emits the divergence's VJP but not the reverse mode of a JVP along a given direction, which Hutchinson's estimator needs. " +
        "Use FlowOptions.Trace = TraceEstimator.Exact, or a library field (MlpField, HyperPlanarField) for Hutchinson.");
}
