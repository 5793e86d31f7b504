namespace OdeDsl.Tests.Tensors;

/// <summary>
/// tanh in decimal arithmetic (28–29 significant digits, about 1e-25 relative here), to measure a double kernel's error
/// in ulps of the true value. Math.Tanh cannot serve: it is itself up to 2.1 ulps off near |x| ≈ 0.2–0.6.
/// </summary>
internal static class DecimalTanh
{
    /// <summary>x as a decimal, from its bits (the decimal(double) conversion keeps only 15 digits). 1e-6 ≤ |x| ≤ 1e10.</summary>
    public static decimal Exact(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(x);
        int e = (int)((bits >> 52) & 0x7FF) - 1075;                 // |x| = m·2^e for a normal x
        decimal m = (bits & 0xFFFFFFFFFFFFFL) | (1L << 52);
        decimal v = e >= 0 ? m * Pow2(e) : m / Pow2(-e);
        return x < 0 ? -v : v;
    }

    private static decimal Pow2(int n)
    {
        decimal p = 1;
        for (int i = 0; i < n; i++) p *= 2;
        return p;
    }

    /// <summary>tanh x for 1e-6 ≤ |x| ≤ 32.</summary>
    public static decimal Tanh(double x)
    {
        decimal a = Math.Abs(Exact(x)), t;
        if (a <= 0.5m)
        {
            decimal term = a, sinh = a, cosh = 1;   // both series have positive terms only: no cancellation
            for (int k = 2; k < 60 && term != 0; k++)
            {
                term = term * a / k;
                if (k % 2 == 0) cosh += term; else sinh += term;
            }
            t = sinh / cosh;
        }
        else
        {
            decimal r = -2 * a / 64, term = 1, e = 1;   // e = exp(−2a): the series of exp(−2a/64), squared six times
            for (int k = 1; k < 40 && term != 0; k++) { term = term * r / k; e += term; }
            for (int i = 0; i < 6; i++) e *= e;
            t = (1 - e) / (1 + e);                      // e ≤ 1/e: no cancellation
        }
        return x < 0 ? -t : t;
    }

    /// <summary>|actual − tanh x| in ulps of the double nearest tanh x.</summary>
    public static double Ulps(double actual, double x)
    {
        decimal t = Tanh(x);
        double nearest = Math.Abs((double)t);
        return (double)Math.Abs(Exact(actual) - t) / (Math.BitIncrement(nearest) - nearest);
    }
}
