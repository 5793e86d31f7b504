using System.Numerics;

namespace OdeDsl.Models;

/// <summary>
/// The pieces of a Gaussian variational objective with their gradients (as in the paper code's latent_ode.py:
/// log_normal_pdf, normal_kl against N(0, I), and z = μ + ε·exp(½ log σ²)). Rows are independent; every function
/// works on flat spans so that batched encoders and decoders can call them on their own layouts.
/// </summary>
public static class GaussianElbo
{
    private static readonly double Log2Pi = Math.Log(2 * Math.PI);

    /// <summary>
    /// Σ log N(x; mean, σ²) over all entries with a fixed σ (the code's noise_std), and its gradient with respect to the
    /// mean scaled by <paramref name="scale"/> added into <paramref name="gradMean"/> (∂/∂mean = (x − mean)/σ²).
    /// </summary>
    public static double LogLikelihood<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mean, double sigma, Span<T> gradMean, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length != mean.Length) throw new ArgumentException($"x has {x.Length} entries but mean has {mean.Length}.", nameof(mean));
        if (!gradMean.IsEmpty && gradMean.Length != mean.Length) throw new ArgumentException($"gradMean needs {mean.Length} entries.", nameof(gradMean));
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), $"σ must be positive; it is {sigma}.");
        double logVar = 2 * Math.Log(sigma), inv = 1 / (sigma * sigma), sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = double.CreateChecked(x[i]) - double.CreateChecked(mean[i]);
            sum += -0.5 * (Log2Pi + logVar + d * d * inv);
            if (!gradMean.IsEmpty) gradMean[i] += T.CreateChecked(scale * d * inv);
        }
        return sum;
    }

    /// <summary>
    /// KL(N(μ, exp(logVar)) ‖ N(0, 1)) summed over all entries, = ½ Σ (exp(logVar) + μ² − 1 − logVar); its gradient times
    /// <paramref name="scale"/> added into the two gradient spans (∂/∂μ = μ, ∂/∂logVar = ½(exp(logVar) − 1)).
    /// </summary>
    public static double KlToStandardNormal<T>(ReadOnlySpan<T> mean, ReadOnlySpan<T> logVar, Span<T> gradMean, Span<T> gradLogVar, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (mean.Length != logVar.Length) throw new ArgumentException($"mean has {mean.Length} entries but logVar has {logVar.Length}.", nameof(logVar));
        double sum = 0;
        for (int i = 0; i < mean.Length; i++)
        {
            double m = double.CreateChecked(mean[i]), lv = double.CreateChecked(logVar[i]), v = Math.Exp(lv);
            sum += 0.5 * (v + m * m - 1 - lv);
            if (!gradMean.IsEmpty) gradMean[i] += T.CreateChecked(scale * m);
            if (!gradLogVar.IsEmpty) gradLogVar[i] += T.CreateChecked(scale * 0.5 * (v - 1));
        }
        return sum;
    }

    /// <summary>z = μ + ε·exp(½ logVar) (the reparameterisation trick).</summary>
    public static void Sample<T>(ReadOnlySpan<T> mean, ReadOnlySpan<T> logVar, ReadOnlySpan<T> epsilon, Span<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (mean.Length != logVar.Length || mean.Length != epsilon.Length || mean.Length != z.Length)
            throw new ArgumentException("mean, logVar, epsilon and z must have the same length.");
        T half = T.CreateChecked(0.5);
        for (int i = 0; i < z.Length; i++) z[i] = mean[i] + epsilon[i] * T.Exp(half * logVar[i]);
    }

    /// <summary>Chain rule of <see cref="Sample{T}"/>: adds ∂L/∂μ = ∂L/∂z and ∂L/∂logVar = ∂L/∂z · ε · ½exp(½ logVar).</summary>
    public static void SampleBackward<T>(ReadOnlySpan<T> logVar, ReadOnlySpan<T> epsilon, ReadOnlySpan<T> gradZ, Span<T> gradMean, Span<T> gradLogVar)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (logVar.Length != epsilon.Length || logVar.Length != gradZ.Length || gradMean.Length != gradZ.Length || gradLogVar.Length != gradZ.Length)
            throw new ArgumentException("logVar, epsilon, gradZ and the gradients must have the same length.");
        T half = T.CreateChecked(0.5);
        for (int i = 0; i < gradZ.Length; i++)
        {
            gradMean[i] += gradZ[i];
            gradLogVar[i] += gradZ[i] * epsilon[i] * half * T.Exp(half * logVar[i]);
        }
    }
}
