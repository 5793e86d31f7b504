namespace OdeDsl;

public static partial class Methods
{
    private static readonly AdamsMethod[] AdamsBashforthByOrder = CreateAdams(corrector: false);
    private static readonly AdamsMethod[] AdamsBashforthMoultonByOrder = CreateAdams(corrector: true);

    static partial void AddOtherFamilies(List<OdeMethod> methods)
    {
        methods.AddRange(AdamsBashforthByOrder);
        methods.AddRange(AdamsBashforthMoultonByOrder);
        methods.Add(AdaptiveAdams);
    }

    /// <summary>Variable-step Adams–Bashforth–Moulton 4 (PECE, Milne's error estimate): "adaptive_adams".</summary>
    public static OdeMethod AdaptiveAdams { get; } = new AdaptiveAdamsMethod();

    /// <summary>Explicit Adams–Bashforth of order 1–5 ("adams_bashforth{k}"; fixed step, rk4 start-up). Set <see cref="SolveOptions{T}.FixedStep"/>.</summary>
    public static OdeMethod AdamsBashforth(int order) => AdamsBashforthByOrder[CheckAdamsOrder(order) - 1];

    /// <summary>Adams–Bashforth–Moulton predictor–corrector in PECE mode, order 1–5 ("adams_bashforth_moulton{k}"; fixed step, rk4 start-up).</summary>
    public static OdeMethod AdamsBashforthMoulton(int order) => AdamsBashforthMoultonByOrder[CheckAdamsOrder(order) - 1];

    private static int CheckAdamsOrder(int order) =>
        order is >= 1 and <= AdamsCoefficients.MaxOrder ? order
            : throw new ArgumentOutOfRangeException(nameof(order), order, $"Adams order must be 1 to {AdamsCoefficients.MaxOrder}.");

    private static AdamsMethod[] CreateAdams(bool corrector)
    {
        var methods = new AdamsMethod[AdamsCoefficients.MaxOrder];
        for (int k = 1; k <= methods.Length; k++) methods[k - 1] = new AdamsMethod(k, corrector);
        return methods;
    }
}
