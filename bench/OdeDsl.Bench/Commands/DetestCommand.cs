using System.CommandLine;
using System.Globalization;
using System.Text;
using OdeDsl.Bench.Detest;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// `detest --method M --rtol R --atol A`: solves the 25 non-stiff DETEST problems to t = 20 and prints one JSON
/// line per problem (final state, work counters, max-norm error against bench/OdeDsl.Detest/DetestReference.cs), then a
/// per-method summary on stderr (total nfe, steps, rejected, geometric-mean errors, seconds).
/// </summary>
public static class DetestCommand
{
    public static Command Create()
    {
        var method = new Option<string>("--method", "-m") { Description = "Method name, a comma-separated list, or 'all' (every adaptive method).", DefaultValueFactory = _ => "dopri5" };
        var rtol = new Option<double>("--rtol") { Description = "Relative tolerance.", DefaultValueFactory = _ => 1e-6 };
        var atol = new Option<double>("--atol") { Description = "Absolute tolerance.", DefaultValueFactory = _ => 1e-6 };
        var controller = new Option<string>("--controller") { Description = "Step-size controller: default, i (torchdiffeq's) or pi.", DefaultValueFactory = _ => "default" };
        var step = new Option<double?>("--step") { Description = "Step size for fixed-step methods (euler, rk4, adams_bashforth4, …); ignored by adaptive ones." };
        var problems = new Option<string>("--problems") { Description = "Comma-separated subset (e.g. A1,D5); default all 25.", DefaultValueFactory = _ => "" };
        var command = new Command("detest", "Run the DETEST non-stiff problem set (Hull et al. 1972) and print one JSON line per problem.")
        {
            method, rtol, atol, controller, step, problems,
        };
        command.SetAction(result => Run(result.GetValue(method)!, result.GetValue(rtol), result.GetValue(atol), result.GetValue(controller)!, result.GetValue(step), result.GetValue(problems)!));
        return command;
    }

    private static int Run(string methodSpec, double rtol, double atol, string controllerName, double? step, string problemSpec)
    {
        if (!(rtol >= 0) || !(atol >= 0) || rtol + atol == 0)
            throw new ArgumentException("--rtol and --atol must be non-negative and not both zero.");
        IReadOnlyList<OdeMethod> methods;
        StepSizeController? controller;
        try { methods = MethodCatalog.Select(methodSpec); controller = MethodCatalog.Controller(controllerName); }
        catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 1; }
        var fixedStep = methods.FirstOrDefault(m => !m.IsAdaptive);
        if (fixedStep is not null && !(step > 0))
        {
            Console.Error.WriteLine($"{fixedStep.Name} is a fixed-step method: pass --step H (H > 0).");
            return 1;
        }
        if (methods.Count == 0)
        {
            Console.Error.WriteLine("No methods are available yet (the solvers have not landed).");
            return 1;
        }
        var wanted = problemSpec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var selected = DetestSet.All.Where(p => wanted.Count == 0 || wanted.Contains(p.Name)).ToList();
        if (selected.Count == 0) throw new ArgumentException($"No DETEST problem matches '{problemSpec}'.");

        int failures = 0;
        foreach (var method in methods)
        {
            var options = new SolveOptions<double> { Method = method, RelTol = rtol, AbsTol = atol, Output = OutputMode.FinalOnly, Controller = controller,
                FixedStep = method.IsAdaptive ? null : step };
            var summary = new Summary();
            foreach (var problem in selected)
            {
                var run = problem.Solve(options);
                var reference = DetestReference.AtTwenty[problem.Name];
                double error = run.Succeeded ? MaxAbsDiff(run.Y, reference) : double.NaN;
                double mixed = run.Succeeded ? DetestReferenceCommand.MaxRelDiff(run.Y, reference) : double.NaN;
                if (!run.Succeeded) failures++;
                summary.Add(run, error, mixed);
                Console.WriteLine(Json(problem.Name, method.Name, rtol, atol, run, error));
            }
            Console.Error.WriteLine(summary.Describe(method.Name + (controller is null ? "" : $" ({controllerName})"), rtol, atol, selected.Count));
        }
        return failures == 0 ? 0 : 2;
    }

    private static double MaxAbsDiff(double[] a, double[] b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst;
    }

    private static string Num(double v) =>
        double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "null";

    private static string Json(string problem, string method, double rtol, double atol, DetestRun run, double error)
    {
        var sb = new StringBuilder(256);
        sb.Append("{\"problem\":\"").Append(problem).Append("\",\"method\":\"").Append(method)
          .Append("\",\"rtol\":").Append(Num(rtol)).Append(",\"atol\":").Append(Num(atol))
          .Append(",\"t_end\":20,\"y\":[").AppendJoin(',', run.Y.Select(Num))
          .Append("],\"nfe\":").Append(run.Nfe).Append(",\"steps\":").Append(run.Steps)
          .Append(",\"rejected\":").Append(run.Rejected).Append(",\"error\":").Append(Num(error))
          .Append(",\"seconds\":").Append(Num(run.Seconds)).Append(",\"success\":").Append(run.Succeeded ? "true" : "false").Append('}');
        return sb.ToString();
    }

    /// <summary>Totals over the problem set; geometric means skip exact-zero errors (log of zero).</summary>
    private sealed class Summary
    {
        private long nfe, steps, rejected;
        private double seconds, logError, logMixed;
        private int counted, failed;

        public void Add(DetestRun run, double error, double mixed)
        {
            nfe += run.Nfe; steps += run.Steps; rejected += run.Rejected; seconds += run.Seconds;
            if (!run.Succeeded) { failed++; return; }
            if (error > 0 && mixed > 0) { logError += Math.Log(error); logMixed += Math.Log(mixed); counted++; }
        }

        public string Describe(string method, double rtol, double atol, int problems)
        {
            var inv = CultureInfo.InvariantCulture;
            string geo(double s) => counted == 0 ? "n/a" : Math.Exp(s / counted).ToString("E2", inv);
            return $"# {method} rtol={rtol.ToString("R", inv)} atol={atol.ToString("R", inv)}: {problems} problems, nfe={nfe}, steps={steps}, rejected={rejected}, " +
                   $"geomean error={geo(logError)}, geomean mixed error={geo(logMixed)}, seconds={seconds.ToString("F3", inv)}, failed={failed}";
        }
    }
}
