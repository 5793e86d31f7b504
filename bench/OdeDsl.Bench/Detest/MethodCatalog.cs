using System.Reflection;

namespace OdeDsl.Bench.Detest;

/// <summary>Finds the library's methods by name: every public static OdeMethod property of <see cref="Methods"/>.</summary>
public static class MethodCatalog
{
    public static IReadOnlyList<OdeMethod> Available()
    {
        var found = new List<OdeMethod>();
        foreach (var property in typeof(Methods).GetProperties(BindingFlags.Public | BindingFlags.Static))
        {
            if (property.PropertyType != typeof(OdeMethod)) continue;
            try
            {
                if (property.GetValue(null) is OdeMethod method) found.Add(method);
            }
            catch (TargetInvocationException)
            {
                // A method that is declared but not implemented yet is simply not offered.
            }
        }
        return found;
    }

    /// <summary>"all" selects every adaptive method; otherwise a comma-separated list of names (case-insensitive).</summary>
    public static IReadOnlyList<OdeMethod> Select(string spec)
    {
        var available = Available();
        if (spec.Equals("all", StringComparison.OrdinalIgnoreCase))
            return available.Where(m => m.IsAdaptive).ToList();
        var chosen = new List<OdeMethod>();
        foreach (var name in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var method = available.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"Unknown method '{name}'. Available: {string.Join(", ", available.Select(m => m.Name))}, or 'all'.");
            chosen.Add(method);
        }
        return chosen;
    }
}
