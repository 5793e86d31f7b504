namespace OdeDsl;

/// <summary>Chooses the next step size from the error ratio (the norm of the scaled error; ≤ 1 accepts the step).</summary>
public abstract class StepSizeController
{
    /// <summary>Factor by which the step that produced <paramref name="errorRatio"/> is multiplied to give the next step.</summary>
    /// <param name="errorRatio">Error ratio of the step just attempted.</param>
    /// <param name="previousAcceptedRatio">Error ratio of the last accepted step (1 before any step was accepted).</param>
    /// <param name="order">The method's order (torchdiffeq's convention: the order of the propagated solution).</param>
    /// <param name="accepted">Whether the step just attempted was accepted.</param>
    public abstract double Factor(double errorRatio, double previousAcceptedRatio, int order, bool accepted);

    /// <summary>torchdiffeq's integral controller (the default).</summary>
    public static StepSizeController I { get; } = new IController();
    /// <summary>Proportional-integral controller (Gustafsson; Hairer &amp; Wanner II, IV.2).</summary>
    public static StepSizeController PI { get; } = new PIController();
}

/// <summary>
/// The integral controller of torchdiffeq (rk_common/misc: _optimal_step_size), reproducing its step sequence:
/// factor = 1/ifactor-capped min(ifactor, max(safety / r^(1/order), dfactor)) with dfactor replaced by 1 when r &lt; 1
/// (an accepted step never shrinks the next one) and factor = ifactor when r = 0.
/// </summary>
public sealed class IController(double safety = 0.9, double ifactor = 10, double dfactor = 0.2) : StepSizeController
{
    public double Safety { get; } = safety;
    public double IFactor { get; } = ifactor;
    public double DFactor { get; } = dfactor;

    public override double Factor(double errorRatio, double previousAcceptedRatio, int order, bool accepted)
    {
        if (errorRatio == 0) return IFactor;
        double dfactor = errorRatio < 1 ? 1 : DFactor;
        return Math.Min(IFactor, Math.Max(Safety / Math.Pow(errorRatio, 1.0 / order), dfactor));
    }
}

/// <summary>
/// PI controller: factor = safety · r^(−α) · r_prev^(β) with α = 0.7/k, β = 0.4/k, k = order (Hairer &amp; Wanner II, IV.2,
/// eq. (2.43c) and its recommended constants), bounded to [dfactor, ifactor]; after a rejection the step only shrinks,
/// using the plain I rule.
/// </summary>
public sealed class PIController(double safety = 0.9, double ifactor = 10, double dfactor = 0.2) : StepSizeController
{
    public double Safety { get; } = safety;
    public double IFactor { get; } = ifactor;
    public double DFactor { get; } = dfactor;

    public override double Factor(double errorRatio, double previousAcceptedRatio, int order, bool accepted)
    {
        if (!accepted)
            return Math.Min(1, Math.Max(DFactor, Safety / Math.Pow(errorRatio, 1.0 / order)));
        if (errorRatio == 0) return IFactor;
        double alpha = 0.7 / order, beta = 0.4 / order;
        double f = Safety * Math.Pow(errorRatio, -alpha) * Math.Pow(Math.Max(previousAcceptedRatio, 1e-4), beta);
        return Math.Min(IFactor, Math.Max(DFactor, f));
    }
}
