using LatentOde;
using OdeDsl.Data;
using OdeDsl.Training;

namespace OdeDsl.Tests.LatentOdeExample;

/// <summary>
/// A short training of the latent ODE must beat every predictor that ignores the observations' content. The bound is the
/// negative ELBO of the best such model: q(z₀) = the prior (KL = 0) and a decoder that outputs the constant that
/// minimises the squared error, the per-coordinate mean of all observations. Spirals centred at ±5 with random phase and
/// direction make that constant a poor fit, so getting below it needs the encoder to tell the trajectories apart and the
/// ODE and decoder to follow them; a gradient with a wrong sign or a chain broken through the solve does not. Measured:
/// 1917.5 → 71.9 after 150 iterations against a bound of 1889.9 (80 are run here, to keep the test short).
/// </summary>
public class QuickTrainingTests
{
    [Fact]
    public void ElboBeatsTheBestObservationBlindPredictorAfterAShortTraining()
    {
        var data = IrregularSpirals.Generate(new SpiralSettings { Spirals = 64, Observations = 10 }, seed: 3);
        var batch = SequenceBatch<float>.From(data, Enumerable.Range(0, data.Count).ToArray());
        var model = new LatentOdeModel<LatentField.Dynamics, float>(OdeDsl.Sensitivity.Backprop, new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-6f }, 0.3);
        var theta = LatentOdeModel<LatentField.Dynamics, float>.Initialize(0);
        var adam = new Adam<float>(theta.Length, 0.01);
        var gradient = new float[theta.Length];
        var rng = new Rng(1);
        double first = double.NaN, last = double.NaN;
        for (int it = 0; it < 80; it++)
        {
            double loss = model.LossAndGradient(theta, batch, ref rng, gradient).Loss;
            if (it == 0) first = loss;
            last = loss;
            adam.Step(theta, gradient);
        }
        double blind = BlindBound(batch.X, batch.Batch, 0.3);
        Assert.True(last < blind, $"negative ELBO {first:F1} → {last:F1} after 80 iterations; the observation-blind bound is {blind:F1}");
    }

    /// <summary>Mean over trajectories of Σ −log N(x; m, σ²) with m the per-coordinate mean of all observations (KL = 0).</summary>
    private static double BlindBound(float[] x, int batch, double sigma)
    {
        double mx = 0, my = 0;
        int points = x.Length / 2;
        for (int i = 0; i < points; i++) { mx += x[2 * i]; my += x[2 * i + 1]; }
        mx /= points; my /= points;
        double sum = 0;
        for (int i = 0; i < points; i++)
        {
            double dx = x[2 * i] - mx, dy = x[2 * i + 1] - my;
            sum += Math.Log(2 * Math.PI * sigma * sigma) + (dx * dx + dy * dy) / (2 * sigma * sigma);
        }
        return sum / batch;
    }
}
