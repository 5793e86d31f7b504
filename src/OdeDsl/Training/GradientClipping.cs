using System.Numerics;

namespace OdeDsl.Training;

/// <summary>Gradient clipping in place (torch.nn.utils.clip_grad_norm_ / clip_grad_value_).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales <paramref name="gradient"/> by maxNorm/(‖g‖₂ + 1e-6) when ‖g‖₂ exceeds <paramref name="maxNorm"/>
    /// (PyTorch's formula). Returns the norm before clipping, so callers can log it.
    /// </summary>
    public static double ClipByGlobalNorm<T>(Span<T> gradient, double maxNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(maxNorm > 0) || double.IsInfinity(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be finite and > 0.");
        double sum = 0;
        foreach (T g in gradient) { double d = double.CreateTruncating(g); sum += d * d; }
        double norm = Math.Sqrt(sum);
        if (norm > maxNorm)
        {
            T scale = T.CreateTruncating(maxNorm / (norm + 1e-6));
            for (int i = 0; i < gradient.Length; i++) gradient[i] *= scale;
        }
        return norm;
    }

    /// <summary>Clamps every component to [−limit, limit]; NaN stays NaN so that a diverged run is not hidden.</summary>
    public static void ClipByValue<T>(Span<T> gradient, double limit) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(limit > 0) || double.IsInfinity(limit))
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit must be finite and > 0.");
        T hi = T.CreateTruncating(limit), lo = -hi;
        for (int i = 0; i < gradient.Length; i++)
        {
            if (gradient[i] > hi) gradient[i] = hi;
            else if (gradient[i] < lo) gradient[i] = lo;
        }
    }
}
