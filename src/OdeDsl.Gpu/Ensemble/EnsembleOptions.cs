namespace OdeDsl.Gpu;

/// <summary>The step-size controllers of the ensemble kernel: OdeDsl's StepSizeController.I and .PI with their defaults.</summary>
public enum GpuController
{
    /// <summary>torchdiffeq's integral controller (the CPU runtime's default).</summary>
    I,
    /// <summary>Proportional–integral controller (Hairer &amp; Wanner II, IV.2).</summary>
    PI,
}

/// <summary>
/// Options of <see cref="GpuOde.Solve{TField}(ILGPU.Runtime.Accelerator, TField, double[], double[], double[], EnsembleOptions?)"/>;
/// the names and defaults of <see cref="SolveOptions{T}"/> (dopri5, rtol 1e-7, atol 1e-9, I controller).
/// </summary>
public sealed class EnsembleOptions
{
    /// <summary>An explicit Runge–Kutta method without extra dense stages: dopri5, tsit5, rk4, rk4_38, euler, midpoint,
    /// heun, bosh3, … (dopri8 is not supported: its interpolant needs extra stages).</summary>
    public RungeKuttaMethod Method { get; init; } = Methods.Dopri5;
    public double RelTol { get; init; } = 1e-7;
    public double AbsTol { get; init; } = 1e-9;
    public GpuController Controller { get; init; } = GpuController.I;
    /// <summary>First step; null selects it as the CPU runtime does.</summary>
    public double? FirstStep { get; init; }
    /// <summary>Step of fixed-step methods (required for them).</summary>
    public double? FixedStep { get; init; }
    public double MinStep { get; init; }
    public double MaxStep { get; init; } = double.PositiveInfinity;
    /// <summary>Step attempts per trajectory before it stops with MaxStepsReached.</summary>
    public int MaxSteps { get; init; } = 1_000_000;
    /// <summary>Threads per group on a GPU (ILGPU's default when 0).</summary>
    public int GroupSize { get; init; }
}
