namespace OdeDsl;

/// <summary>Interpolation weights of a tableau's own continuous extension: fills w[i] = b_i(θ) so that
/// y(t_n + θh) = y_n + h Σ_i b_i(θ) k_i, for θ in [0, 1], over the slots of <see cref="ButcherTableau.DenseSlots"/>
/// (w arrives cleared).</summary>
public delegate void DenseWeights(double theta, Span<double> weights);

/// <summary>
/// An explicit Runge-Kutta method: y_{n+1} = y_n + h Σ b_i k_i, k_i = f(t_n + c_i h, y_n + h Σ_{j&lt;i} a_ij k_j).
/// <see cref="BError"/> holds b − b̂ (the difference to the embedded solution), so the local error estimate is h Σ e_i k_i.
/// The constructor checks the row-sum condition c_i = Σ_j a_ij, Σ b = 1 and Σ e = 0.
/// </summary>
public sealed record ButcherTableau
{
    public string Name { get; }
    public double[] C { get; }
    /// <summary>Strictly lower-triangular: A[i] has i entries (the coefficients of k_0..k_{i-1}).</summary>
    public double[][] A { get; }
    public double[] B { get; }
    /// <summary>b − b̂, or null for a method without an embedded estimate.</summary>
    public double[]? BError { get; }
    public int Order { get; }
    /// <summary>Order of the embedded solution (0 when there is none).</summary>
    public int EmbeddedOrder { get; }
    /// <summary>First-same-as-last: the last stage is evaluated at (t+h, y_{n+1}), so it is the next step's first stage.</summary>
    public bool Fsal { get; }
    /// <summary>The tableau's own dense output, or null (then cubic Hermite is used, see <see cref="HermiteWeights"/>).</summary>
    public DenseWeights? Interpolant { get; }
    /// <summary>
    /// Weights b − b̃ of a second, lower-order embedded solution, or null. When present the error ratio is DOP853's
    /// combination r = r₁² / √(r₁² + 0.01 r₂²) of the norms r₁ (from <see cref="BError"/>) and r₂ (from these weights),
    /// which behaves like h^Order (Hairer, Nørsett &amp; Wanner I, II.10, code DOP853).
    /// </summary>
    public double[]? BErrorLow { get; }
    /// <summary>Abscissae of extra stages that only the interpolant needs; the solver evaluates them after an accepted
    /// step whose interior it interpolates (output times inside the step, events, kept dense output). Empty for most.</summary>
    public double[] DenseC { get; }
    /// <summary>Rows of the extra dense stages: row j weights the stages, then f(t_{n+1}, y_{n+1}), then the extra stages
    /// before j (Stages + 1 + j entries).</summary>
    public double[][] DenseA { get; }
    public int Stages => B.Length;
    /// <summary>Slots kept per step: the stages, f(t_{n+1}, y_{n+1}), then the extra dense stages.</summary>
    public int DenseSlots => Stages + 1 + DenseC.Length;

    public ButcherTableau(string name, double[] c, double[][] a, double[] b, double[]? bError, int order, int embeddedOrder,
        DenseWeights? interpolant = null, double[]? bErrorLow = null, double[]? denseC = null, double[][]? denseA = null)
    {
        int s = b.Length;
        if (c.Length != s || a.Length != s || (bError is not null && bError.Length != s) || (bErrorLow is not null && bErrorLow.Length != s))
            throw new ArgumentException($"{name}: c, a, b and the error weights must all have {s} stages.");
        for (int i = 0; i < s; i++)
        {
            if (a[i].Length != i) throw new ArgumentException($"{name}: row {i} of A must have {i} entries (explicit method).");
            double rowSum = 0;
            foreach (var v in a[i]) rowSum += v;
            if (Math.Abs(rowSum - c[i]) > 1e-12) throw new ArgumentException($"{name}: row {i} of A sums to {rowSum}, not c = {c[i]}.");
        }
        if (Math.Abs(b.Sum() - 1) > 1e-12) throw new ArgumentException($"{name}: weights sum to {b.Sum()}, not 1.");
        if (bError is not null && Math.Abs(bError.Sum()) > 1e-12) throw new ArgumentException($"{name}: error weights sum to {bError.Sum()}, not 0.");
        if (bErrorLow is not null && (bError is null || Math.Abs(bErrorLow.Sum()) > 1e-12))
            throw new ArgumentException($"{name}: second error weights need the first and must sum to 0.");
        Name = name; C = c; A = a; B = b; BError = bError; Order = order; EmbeddedOrder = embeddedOrder; Interpolant = interpolant;
        BErrorLow = bErrorLow;
        // FSAL when the last stage is taken at c = 1 with exactly the weights b (and b_s = 0).
        Fsal = s > 1 && c[s - 1] == 1 && b[s - 1] == 0 && a[s - 1].AsSpan().SequenceEqual(b.AsSpan(0, s - 1));

        DenseC = denseC ?? []; DenseA = denseA ?? [];
        if (DenseA.Length != DenseC.Length) throw new ArgumentException($"{name}: {DenseA.Length} dense-stage rows for {DenseC.Length} abscissae.");
        if (DenseC.Length > 0 && (Fsal || interpolant is null))
            throw new ArgumentException($"{name}: extra dense stages need an interpolant and a non-FSAL tableau (slot {s} must hold f(t_{{n+1}}, y_{{n+1}})).");
        for (int j = 0; j < DenseA.Length; j++)
        {
            if (DenseA[j].Length != s + 1 + j) throw new ArgumentException($"{name}: dense-stage row {j} must have {s + 1 + j} entries.");
            if (Math.Abs(DenseA[j].Sum() - DenseC[j]) > 1e-12) throw new ArgumentException($"{name}: dense-stage row {j} does not sum to c = {DenseC[j]}.");
        }
    }

    public bool IsAdaptive => BError is not null;

    /// <summary>The embedded weights b̂ = b − (b − b̂).</summary>
    public double[]? BHat => BError is null ? null : B.Select((bi, i) => bi - BError[i]).ToArray();

    /// <summary>
    /// Dense-output weights over the stages plus f(t_{n+1}, y_{n+1}) at index <see cref="Stages"/> (for FSAL tableaus that
    /// slot is unused since k_{s-1} already is f(t_{n+1}, y_{n+1})), then the extra dense stages; weights must have
    /// <see cref="DenseSlots"/> entries.
    /// Own interpolant when there is one; otherwise cubic Hermite through y_n, f_n, y_{n+1}, f_{n+1}:
    /// y(θ) = y_n + h[θ²(3−2θ) Σ b_i k_i + θ(1−θ)² f_n − θ²(1−θ) f_{n+1}].
    /// </summary>
    public void InterpolationWeights(double theta, Span<double> weights)
    {
        weights.Clear();
        if (Interpolant is not null) { Interpolant(theta, weights[..DenseSlots]); return; }
        HermiteWeights(theta, weights);
    }

    /// <summary>The cubic Hermite weights described in <see cref="InterpolationWeights"/>.</summary>
    public void HermiteWeights(double theta, Span<double> weights)
    {
        weights.Clear();
        double t2 = theta * theta, om = 1 - theta;
        double main = t2 * (3 - 2 * theta);
        for (int i = 0; i < Stages; i++) weights[i] = B[i] * main;
        weights[0] += theta * om * om;
        weights[Fsal ? Stages - 1 : Stages] -= t2 * om;
    }

    /// <summary>Residual of the order conditions up to order 4 (and up to the method's order if lower), for tests:
    /// the largest |Σ b_i Φ_i(τ) − 1/γ(τ)| over the rooted trees of order ≤ min(order, 4) with the given weights.</summary>
    public double OrderConditionResidual(double[] weights, int order)
    {
        int s = Stages;
        double[] c = C;
        var ac = new double[s]; var acc = new double[s]; var aac = new double[s];
        for (int i = 0; i < s; i++)
            for (int j = 0; j < i; j++) { ac[i] += A[i][j] * c[j]; acc[i] += A[i][j] * c[j] * c[j]; }
        for (int i = 0; i < s; i++)
            for (int j = 0; j < i; j++) aac[i] += A[i][j] * ac[j];
        double Sum(Func<int, double> f) { double r = 0; for (int i = 0; i < s; i++) r += weights[i] * f(i); return r; }
        var res = new List<double> { Math.Abs(Sum(_ => 1) - 1) };
        if (order >= 2) res.Add(Math.Abs(Sum(i => c[i]) - 0.5));
        if (order >= 3) { res.Add(Math.Abs(Sum(i => c[i] * c[i]) - 1.0 / 3)); res.Add(Math.Abs(Sum(i => ac[i]) - 1.0 / 6)); }
        if (order >= 4)
        {
            res.Add(Math.Abs(Sum(i => c[i] * c[i] * c[i]) - 0.25));
            res.Add(Math.Abs(Sum(i => c[i] * ac[i]) - 0.125));
            res.Add(Math.Abs(Sum(i => acc[i]) - 1.0 / 12));
            res.Add(Math.Abs(Sum(i => aac[i]) - 1.0 / 24));
        }
        return res.Max();
    }
}
