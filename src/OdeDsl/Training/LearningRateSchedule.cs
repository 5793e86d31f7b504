namespace OdeDsl.Training;

/// <summary>
/// The learning rate as a function of the step (or epoch) counter, counted from 0.
/// Schedules are pure functions of the counter, so a run resumed from a checkpoint gets the same rates.
/// </summary>
public abstract class LearningRateSchedule
{
    public abstract double At(long step);

    /// <summary>Sets <paramref name="optimizer"/>'s rate for <paramref name="step"/>.</summary>
    public void Apply<T>(Optimizer<T> optimizer, long step) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        optimizer.LearningRate = At(step);
    }

    public static LearningRateSchedule Constant(double rate) => new ConstantSchedule(Check(rate, nameof(rate)));

    /// <summary>rate·γ^(number of milestones ≤ step): torch's MultiStepLR; odenet_mnist uses γ = 0.1 at epochs 60, 100, 140.</summary>
    public static LearningRateSchedule MultiStep(double rate, IEnumerable<long> milestones, double gamma = 0.1)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        var sorted = milestones.Order().ToArray();
        if (sorted.Any(m => m < 0)) throw new ArgumentOutOfRangeException(nameof(milestones), "Milestones must be ≥ 0.");
        return new MultiStepSchedule(Check(rate, nameof(rate)), sorted, Check(gamma, nameof(gamma)));
    }

    /// <summary>rate·γ^⌊step/period⌋ (torch's StepLR).</summary>
    public static LearningRateSchedule StepDecay(double rate, long period, double gamma = 0.1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(period, 1);
        return new StepSchedule(Check(rate, nameof(rate)), period, Check(gamma, nameof(gamma)));
    }

    /// <summary>min + (rate − min)(1 + cos(π·step/total))/2 for step ≤ total, then min (torch's CosineAnnealingLR, one half-period).</summary>
    public static LearningRateSchedule Cosine(double rate, long totalSteps, double minimum = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        return new CosineSchedule(Check(rate, nameof(rate)), totalSteps, Check(minimum, nameof(minimum)));
    }

    /// <summary>Linear warm-up: inner(step)·(step + 1)/warmupSteps for the first warmupSteps steps, then inner(step).</summary>
    public static LearningRateSchedule Warmup(LearningRateSchedule inner, long warmupSteps)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(warmupSteps, 1);
        return new WarmupSchedule(inner, warmupSteps);
    }

    private static double Check(double v, string name) =>
        v >= 0 && double.IsFinite(v) ? v : throw new ArgumentOutOfRangeException(name, v, $"{name} must be finite and ≥ 0.");

    private static void CheckStep(long step) => ArgumentOutOfRangeException.ThrowIfNegative(step);

    private sealed class ConstantSchedule(double rate) : LearningRateSchedule
    {
        public override double At(long step) { CheckStep(step); return rate; }
    }

    private sealed class MultiStepSchedule(double rate, long[] milestones, double gamma) : LearningRateSchedule
    {
        public override double At(long step)
        {
            CheckStep(step);
            int passed = 0;
            while (passed < milestones.Length && milestones[passed] <= step) passed++;
            return rate * Math.Pow(gamma, passed);
        }
    }

    private sealed class StepSchedule(double rate, long period, double gamma) : LearningRateSchedule
    {
        public override double At(long step) { CheckStep(step); return rate * Math.Pow(gamma, step / period); }
    }

    private sealed class CosineSchedule(double rate, long total, double minimum) : LearningRateSchedule
    {
        public override double At(long step)
        {
            CheckStep(step);
            if (step >= total) return minimum;
            return minimum + (rate - minimum) * (1 + Math.Cos(Math.PI * step / total)) / 2;
        }
    }

    private sealed class WarmupSchedule(LearningRateSchedule inner, long warmup) : LearningRateSchedule
    {
        public override double At(long step)
        {
            CheckStep(step);
            double r = inner.At(step);
            return step < warmup ? r * (step + 1) / warmup : r;
        }
    }
}
