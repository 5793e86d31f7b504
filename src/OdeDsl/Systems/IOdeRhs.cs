using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The batched right-hand side f(t, y) that every solver integrates.
/// A batch is <c>batch</c> independent states stored row-major: <c>y[b * StateSize + i]</c>.
/// Each row carries its own time <c>t[b]</c> so that per-sample step sizes need no second contract;
/// in shared-step mode all entries of <c>t</c> are equal.
/// </summary>
/// <remarks>
/// Solvers take the right-hand side as a generic type argument (<c>where TRhs : IOdeRhs&lt;T&gt;</c>),
/// so for a struct implementation the JIT specialises the solver loop and can inline <see cref="Evaluate"/>.
/// Implementations must not allocate: keep scratch buffers in fields.
/// </remarks>
public interface IOdeRhs<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Number of scalar state components of one sample.</summary>
    int StateSize { get; }

    /// <summary>dy[b, :] = f(t[b], y[b, :]) for b in [0, batch).</summary>
    void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch);
}
