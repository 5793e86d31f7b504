using System.Numerics;

namespace OdeDsl.Training;

/// <summary>
/// A first-order optimiser over a flat parameter vector θ and its gradient (the layout of
/// <see cref="ParameterLayout"/>). Its state buffers are allocated once, at construction, so a step allocates nothing.
/// Update rules follow PyTorch's documented algorithms (torch.optim), so runs can be compared with the paper's code.
/// </summary>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected Optimizer(int parameterCount, double learningRate, double weightDecay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parameterCount, 1);
        ValidateRate(learningRate);
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be finite and ≥ 0.");
        ParameterCount = parameterCount;
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>Name stored in checkpoints; a checkpoint only loads into an optimiser of the same kind.</summary>
    public abstract string Kind { get; }

    public int ParameterCount { get; }

    /// <summary>The rate of the next step; a <see cref="LearningRateSchedule"/> sets it before each step.</summary>
    public double LearningRate
    {
        get;
        set { ValidateRate(value); field = value; }
    }

    public double WeightDecay { get; }

    /// <summary>Steps taken so far (PyTorch's per-parameter <c>step</c>, used by Adam's bias correction).</summary>
    public long Steps { get; private set; }

    /// <summary>The buffers a checkpoint must save to resume exactly (moments, momentum), each of length <see cref="ParameterCount"/>.</summary>
    internal abstract IReadOnlyList<T[]> StateBuffers { get; }

    /// <summary>One update θ ← θ − step(g). <paramref name="gradient"/> is read only.</summary>
    public void Step(Span<T> parameters, ReadOnlySpan<T> gradient)
    {
        if (parameters.Length != ParameterCount)
            throw new ArgumentException($"{Kind} was created for {ParameterCount} parameters; got {parameters.Length}.", nameof(parameters));
        if (gradient.Length != ParameterCount)
            throw new ArgumentException($"{Kind} was created for {ParameterCount} parameters; the gradient has {gradient.Length}.", nameof(gradient));
        Steps++;
        Update(parameters, gradient, Steps);
    }

    private protected abstract void Update(Span<T> parameters, ReadOnlySpan<T> gradient, long step);

    /// <summary>Restores the step count after a checkpoint has filled <see cref="StateBuffers"/>.</summary>
    internal void RestoreSteps(long steps) => Steps = steps;

    private protected static T C(double v) => T.CreateTruncating(v);

    private static void ValidateRate(double lr)
    {
        if (!(lr >= 0) || double.IsInfinity(lr))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), lr, "The learning rate must be finite and ≥ 0.");
    }

    private protected static void ValidateUnit(double value, string name, bool allowZero = true)
    {
        if (!(allowZero ? value >= 0 : value > 0) || !(value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in {(allowZero ? "[0, 1)" : "(0, 1)")}.");
    }

    private protected static void ValidatePositive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and > 0.");
    }
}
