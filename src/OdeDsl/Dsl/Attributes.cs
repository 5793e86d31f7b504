namespace OdeDsl;

/// <summary>
/// Marks a static method f(h, t, θ) in a <c>partial</c> type as ODE dynamics dh/dt = f. The source generator adds a
/// nested type implementing <see cref="IOdeDynamics{TSelf}"/>: <c>Dynamics</c> when the type has one such method,
/// <c>{Method}Dynamics</c> otherwise. The method itself stays ordinary C# and runs eagerly as the reference.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class OdeDynamicsAttribute : Attribute { }

/// <summary>Marks a differentiable helper (encoder, decoder, head) that is not a right-hand side.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class DifferentiableAttribute : Attribute { }

/// <summary>The per-sample shape of the state argument, e.g. <c>[Shape(2)]</c> or <c>[Shape(64, 6, 6)]</c>.</summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class ShapeAttribute : Attribute
{
    public ShapeAttribute(params int[] dims) => Dims = dims;
    public int[] Dims { get; }
}

/// <summary>How a <c>[Param]</c> is initialised; <see cref="Default"/> lets the generator choose (PyTorch's defaults).</summary>
public enum ParamInit { Default, Zeros, Ones, Uniform, Normal }

/// <summary>
/// A trainable argument with its shape. θ is the concatenation of all <c>[Param]</c> arguments in declaration order.
/// Set <see cref="Init"/> (and <see cref="Scale"/> for Uniform/Normal) to override the default initialiser.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class ParamAttribute : Attribute
{
    public ParamAttribute(params int[] dims) => Dims = dims;
    public int[] Dims { get; }
    public ParamInit Init { get; set; }
    public double Scale { get; set; }
}
