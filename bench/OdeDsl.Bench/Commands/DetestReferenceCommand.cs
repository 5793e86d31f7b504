using System.CommandLine;
using System.Globalization;
using OdeDsl.Bench.Detest;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// `detest-reference`: recomputes the DETEST reference solutions at t = 20 (closed form where one exists, else GBS extrapolation) and prints them as C# data for
/// bench/OdeDsl.Detest/DetestReference.cs. Two macro steps are compared (and the closed forms where they exist) on stderr.
/// </summary>
public static class DetestReferenceCommand
{
    public static Command Create()
    {
        var step = new Option<double>("--step") { Description = "GBS macro step of the reference (the check uses twice this).", DefaultValueFactory = _ => 0.05 };
        var command = new Command("detest-reference", "Recompute the DETEST reference solutions at t = 20 (prints C# data).") { step };
        command.SetAction(result => Run(result.GetValue(step)));
        return command;
    }

    private static int Run(double h)
    {
        if (!(h > 0)) throw new ArgumentException("--step must be positive.");
        var inv = CultureInfo.InvariantCulture;
        foreach (var problem in DetestSet.All)
        {
            var fine = problem.Extrapolated(h);
            var coarse = problem.Extrapolated(2 * h);
            double stepDiff = MaxRelDiff(fine, coarse);
            string exact = problem.Exact is { } ex ? MaxRelDiff(fine, ex()).ToString("E2", inv) : "n/a";
            Console.Error.WriteLine($"{problem.Name}: |H - 2H| = {stepDiff.ToString("E2", inv)}  |H - exact| = {exact}  (mixed: |d| / (1 + |y|))");
            // The closed form is the reference where it exists (the D orbits' phase error makes GBS drift ~1e-11).
            var reference = problem.Exact is { } closed ? closed() : fine;
            Console.WriteLine($"        [\"{problem.Name}\"] = [{string.Join(", ", reference.Select(v => v.ToString("R", inv)))}],");
        }
        return 0;
    }

    /// <summary>max_i |a_i − b_i| / (1 + |b_i|), the mixed measure used for agreement.</summary>
    internal static double MaxRelDiff(double[] a, double[] b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]) / (1.0 + Math.Abs(b[i])));
        return worst;
    }
}
