namespace OdeDsl.Gpu.Ensemble;

/// <summary>The step-size controllers on the device, shared by the ensemble and adjoint kernels (both precisions): the
/// same arithmetic as the CPU runtime's StepSizeController.I / .PI, in double so float kernels decide like double ones.</summary>
internal static class DeviceStepControl
{
    /// <summary>The factor the next step size is multiplied by. controller 0: I; else PI (Hairer, Nørsett & Wanner II,
    /// IV.2: α = 0.7/q, β = 0.4/q). r: this step's error ratio; prev: the last accepted step's.</summary>
    public static double Factor(int controller, int order, double safety, double iFactor, double dFactor, double r, double prev, bool accepted)
    {
        if (controller == 0)
        {
            if (r == 0) return iFactor;
            double dfactor = r < 1 ? 1 : dFactor;
            return System.Math.Min(iFactor, System.Math.Max(safety / System.Math.Pow(r, 1.0 / order), dfactor));
        }
        if (!accepted) return System.Math.Min(1, System.Math.Max(dFactor, safety / System.Math.Pow(r, 1.0 / order)));
        if (r == 0) return iFactor;
        double alpha = 0.7 / order, beta = 0.4 / order;
        double f = safety * System.Math.Pow(r, -alpha) * System.Math.Pow(System.Math.Max(prev, 1e-4), beta);
        return System.Math.Min(iFactor, System.Math.Max(dFactor, f));
    }
}
