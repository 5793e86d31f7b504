namespace OdeDsl.Bench.Detest;

/// <summary>Resolves the --method and --controller arguments against the library's registry.</summary>
public static class MethodCatalog
{
    /// <summary>"all" selects every adaptive method (<see cref="Methods.AllAdaptive"/>); otherwise a comma-separated list of names.</summary>
    public static IReadOnlyList<OdeMethod> Select(string spec)
    {
        if (spec.Equals("all", StringComparison.OrdinalIgnoreCase)) return Methods.AllAdaptive;
        return spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Methods.ByName).ToList();
    }

    /// <summary>"default" leaves the library's default; "i" or "pi" pick a controller explicitly.</summary>
    public static StepSizeController? Controller(string name) => name.ToLowerInvariant() switch
    {
        "default" => null,
        "i" => StepSizeController.I,
        "pi" => StepSizeController.PI,
        _ => throw new ArgumentException($"Unknown controller '{name}'. Use default, i or pi."),
    };
}
