using System.Numerics;
using OdeDsl.Training;

namespace OdeDsl;

/// <summary>How a parameter is initialised by default.</summary>
public enum ParameterInitKind
{
    Zeros,
    Ones,
    /// <summary>U(-Scale, Scale): PyTorch's default for Linear/Conv2d weights and biases, Scale = 1/√fan_in.</summary>
    Uniform,
    /// <summary>N(0, Scale²).</summary>
    Normal,
}

public readonly record struct ParameterInit(ParameterInitKind Kind, double Scale = 0)
{
    public static ParameterInit Zeros => new(ParameterInitKind.Zeros);
    public static ParameterInit Ones => new(ParameterInitKind.Ones);
    public static ParameterInit Uniform(double bound) => new(ParameterInitKind.Uniform, bound);
    /// <summary>PyTorch's Linear/Conv default: U(±1/√fanIn).</summary>
    public static ParameterInit FanIn(int fanIn) => new(ParameterInitKind.Uniform, 1.0 / Math.Sqrt(fanIn));
    public static ParameterInit Normal(double std) => new(ParameterInitKind.Normal, std);
}

/// <summary>One named parameter inside θ.</summary>
public sealed record ParameterInfo(string Name, int[] Shape, int Offset, ParameterInit Init)
{
    public int Length
    {
        get
        {
            int n = 1;
            foreach (int d in Shape) n *= d;
            return n;
        }
    }
}

/// <summary>
/// The layout of θ: every <c>[Param]</c> argument in declaration order, flattened row-major.
/// Generated systems expose one through <see cref="IOdeDynamics{TSelf}.Layout"/>.
/// </summary>
public sealed class ParameterLayout
{
    private readonly ParameterInfo[] _entries;

    public ParameterLayout(params ParameterInfo[] entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        int offset = 0;
        foreach (var e in entries)
        {
            if (e.Offset != offset)
                throw new ArgumentException($"Parameter '{e.Name}' starts at {e.Offset}, expected {offset}: entries must be contiguous and in order.");
            offset += e.Length;
        }
        _entries = entries;
        Count = offset;
    }

    /// <summary>Total number of scalars in θ.</summary>
    public int Count { get; }

    public IReadOnlyList<ParameterInfo> Entries => _entries;

    public ParameterInfo this[string name] =>
        Array.Find(_entries, e => e.Name == name)
        ?? throw new KeyNotFoundException($"No parameter named '{name}'. Known: {string.Join(", ", _entries.Select(e => e.Name))}.");

    /// <summary>A fresh θ drawn from each parameter's default initialiser; the same seed gives the same θ.</summary>
    public T[] Initialize<T>(int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var theta = new T[Count];
        Initialize<T>(theta, seed);
        return theta;
    }

    public void Initialize<T>(Span<T> theta, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (theta.Length != Count)
            throw new ArgumentException($"θ has {theta.Length} elements, the layout needs {Count}.", nameof(theta));
        var rng = new Rng((ulong)seed);
        foreach (var e in _entries)
        {
            var slice = theta.Slice(e.Offset, e.Length);
            for (int i = 0; i < slice.Length; i++)
            {
                double v = e.Init.Kind switch
                {
                    ParameterInitKind.Zeros => 0.0,
                    ParameterInitKind.Ones => 1.0,
                    ParameterInitKind.Uniform => e.Init.Scale * (2 * rng.NextDouble() - 1),
                    ParameterInitKind.Normal => e.Init.Scale * rng.NextGaussian(),
                    _ => throw new InvalidOperationException($"Unknown initialiser {e.Init.Kind}."),
                };
                slice[i] = T.CreateChecked(v);
            }
        }
    }
}
