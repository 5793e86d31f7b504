using System.Numerics;

namespace OdeDsl;

public static partial class Ode
{
    /// <summary>
    /// Solves dh/dt = f(h, t, θ) for a batch of initial states <paramref name="y0"/> ([batch, StateSize]) through
    /// every output time and records what <paramref name="sensitivity"/> needs to differentiate the solve;
    /// call <see cref="OdeForward{TDynamics, T}.Backward"/> with the loss gradients at the output times.
    /// Shared step mode only: the batch takes one step sequence (as in torchdiffeq).
    /// </summary>
    public static OdeForward<TDynamics, T> Forward<TDynamics, T>(ReadOnlySpan<T> y0, ReadOnlySpan<T> times, T[] theta,
        Sensitivity sensitivity, SolveOptions<T>? options = null)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(sensitivity);
        options ??= new SolveOptions<T>();
        int s = TDynamics.StateSize;
        if (theta.Length != TDynamics.ParameterCount)
            throw new ArgumentException($"{typeof(TDynamics).Name} has {TDynamics.ParameterCount} parameters but θ has {theta.Length} elements.", nameof(theta));
        if (y0.IsEmpty || y0.Length % s != 0)
            throw new ArgumentException($"y0 has {y0.Length} elements, not a positive multiple of StateSize {s}.", nameof(y0));
        if (times.Length < 2)
            throw new ArgumentException($"At least two output times are needed (t₀ and one more); got {times.Length}.", nameof(times));
        ValidateMonotonic(times);
        if (options.StepMode != BatchStepMode.Shared)
            throw new NotSupportedException("Gradients need BatchStepMode.Shared: the batch must take one step sequence.");
        if (options.Output != OutputMode.AtTimes)
            throw new NotSupportedException("Gradients need OutputMode.AtTimes: the loss reads the state at every output time.");
        if (options.Events is { Count: > 0 })
            throw new NotSupportedException("Gradients through event-terminated solves are not supported.");
        var problem = new ForwardProblem<T>
        {
            InitialState = y0.ToArray(),
            Times = times.ToArray(),
            Theta = (T[])theta.Clone(),
            Batch = y0.Length / s,
            Options = options,
        };
        return sensitivity.Forward<TDynamics, T>(problem);
    }

    /// <summary>One-shot <see cref="Forward{TDynamics, T}"/> then <see cref="OdeForward{TDynamics, T}.Backward"/>.</summary>
    public static OdeGradients<T> Gradient<TDynamics, T>(ReadOnlySpan<T> y0, ReadOnlySpan<T> times, T[] theta,
        ReadOnlySpan<T> dLdStates, Sensitivity sensitivity, SolveOptions<T>? options = null)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
        => Forward<TDynamics, T>(y0, times, theta, sensitivity, options).Backward(dLdStates);

    private static void ValidateMonotonic<T>(ReadOnlySpan<T> times) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < times.Length; i++)
            if (!T.IsFinite(times[i]))
                throw new ArgumentException($"Output times must be finite; times[{i}] = {times[i]}.", nameof(times));
        T sign = times[1] > times[0] ? T.One : -T.One;
        for (int i = 1; i < times.Length; i++)
            if ((times[i] - times[i - 1]) * sign <= T.Zero)
                throw new ArgumentException(
                    $"Output times must be finite and strictly monotonic; times[{i - 1}] = {times[i - 1]}, times[{i}] = {times[i]}.", nameof(times));
    }
}
