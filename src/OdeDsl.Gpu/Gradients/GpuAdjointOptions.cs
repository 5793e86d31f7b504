namespace OdeDsl.Gpu;

/// <summary>
/// Options of the backward solve of <see cref="GpuGradients.Adjoint{TField}(ILGPU.Runtime.Accelerator, TField, double[], double[], double[], double[], EnsembleOptions?, GpuAdjointOptions?)"/>:
/// the CPU runtime's <see cref="AdjointOptions"/> (same names, same defaults) plus the parameter layout that the CPU
/// reads from the dynamics type. The backward solve takes the forward's controller, MinStep, MaxStep, MaxSteps (per
/// output interval) and FixedStep from <see cref="EnsembleOptions"/>; its first step is always selected, as on the CPU.
/// </summary>
public sealed class GpuAdjointOptions
{
    /// <summary>Relative tolerance of the backward solve; null means the forward's.</summary>
    public double? RelTol { get; init; }

    /// <summary>Absolute tolerance of the backward solve; null means the forward's.</summary>
    public double? AbsTol { get; init; }

    /// <summary>Error control over h and a only, not a_θ (Kidger, Chen &amp; Lyons, ICML 2021), as <see cref="AdjointOptions.Seminorm"/>.</summary>
    public bool Seminorm { get; init; }

    /// <summary>Method of the backward solve; null means the forward's. Explicit tableaus without extra dense stages.</summary>
    public RungeKuttaMethod? Method { get; init; }

    /// <summary>Groups of one state's components, each its own RMS channel for h and for a, as <see cref="AdjointOptions.StateGroups"/>.</summary>
    public int[]? StateGroups { get; init; }

    /// <summary>
    /// θ's tensors: each is one RMS channel of a_θ in the error norm, as the CPU runtime's adjoint norm takes them from
    /// <c>TDynamics.Layout</c>. Pass <c>X.Dynamics.Layout</c> for the CPU's exact norm; null means one channel for all of θ
    /// (the same as the CPU for a field with a single parameter tensor, or with the seminorm).
    /// </summary>
    public ParameterLayout? Layout { get; init; }

    /// <summary>
    /// The norm's channels as consecutive lengths over [h (S), a (S), a_θ (P)] and how many of them, from the first, are
    /// controlled: src/OdeDsl/Sensitivity/AdjointNorms.cs for a batch of one with TimeChannelInNorm = false (the device
    /// does not integrate a_t).
    /// </summary>
    internal (int[] Lengths, int Controlled) Channels(int S, int P)
    {
        var channels = new List<int>();
        if (StateGroups is { } groups)
        {
            if (groups.Length == 0 || groups.Any(g => g < 1) || groups.Sum() != S)
                throw new ArgumentException($"GpuAdjointOptions.StateGroups [{string.Join(", ", groups)}] must be positive lengths summing to StateSize {S}.", nameof(StateGroups));
            channels.AddRange(groups);
            channels.AddRange(groups);
        }
        else channels.AddRange([S, S]);
        int stateChannels = channels.Count;
        if (Layout is null) channels.Add(P);
        else if (Layout.Count != P)
            throw new ArgumentException($"GpuAdjointOptions.Layout describes {Layout.Count} parameters; the field has {P}.", nameof(Layout));
        else channels.AddRange(Layout.Entries.Select(e => e.Length));
        return (channels.ToArray(), Seminorm ? stateChannels : channels.Count);
    }
}
