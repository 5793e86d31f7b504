using Spectre.Console;

namespace OdeDsl.Training;

/// <summary>
/// Progress of a training loop: a Spectre.Console progress bar on an interactive terminal, plain text lines
/// (one per report) when output is redirected or the terminal is not interactive. NO_COLOR is honoured
/// (Spectre.Console detects it; the plain mode writes no escape codes at all).
/// </summary>
public static class TrainingProgress
{
    /// <summary>True when a live progress bar can be drawn (interactive console, output not redirected).</summary>
    public static bool IsInteractive =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// Runs <paramref name="body"/> with a reporter. <paramref name="forcePlain"/> selects the plain line mode even on a terminal.
    /// </summary>
    public static void Run(string title, long totalIterations, Action<IProgressReporter> body, bool forcePlain = false)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalIterations, 1);
        if (forcePlain || !IsInteractive)
        {
            body(new PlainReporter(Console.Out, totalIterations));
            return;
        }
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: totalIterations);
                body(new LiveReporter(task, title));
            });
    }

    private sealed class PlainReporter(TextWriter output, long total) : IProgressReporter
    {
        public void Report(in TrainingMetrics m) =>
            output.WriteLine($"iter {m.Iteration,6}/{total} | loss {m.Loss:F6} | nfe f/b {m.NfeForward}/{m.NfeBackward} | lr {m.LearningRate:G3} | {m.Seconds:F1} s");

        public void Message(string text) => output.WriteLine(text);
    }

    private sealed class LiveReporter(ProgressTask task, string title) : IProgressReporter
    {
        public void Report(in TrainingMetrics m)
        {
            task.Value = m.Iteration;
            task.Description = Markup.Escape($"{title}  loss {m.Loss:F4}  nfe {m.NfeForward}/{m.NfeBackward}");
        }

        public void Message(string text) => AnsiConsole.WriteLine(text);
    }
}

/// <summary>Receives a training loop's logged iterations.</summary>
public interface IProgressReporter
{
    void Report(in TrainingMetrics metrics);
    void Message(string text);
}
