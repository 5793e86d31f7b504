using Cnf;

namespace OdeDsl.Tests.CnfExample;

/// <summary>
/// The density-matching targets must be proper for KL(q‖p) to mean anything: U₂–U₄ as published are flat in x away
/// from the sinusoid (infinite mass), which let the published-budget runs drive the "KL" below zero by spreading
/// along x. With the wall at |x| = 4 every potential's mass lies inside the [−6, 6]² box its normaliser is taken on.
/// </summary>
public class PotentialTests
{
    /// <summary>log ∫e^{−U} by the midpoint rule on a square of half-width <paramref name="half"/>, 20 cells per unit.</summary>
    private static double LogMass(int pot, double half)
    {
        int n = (int)(2 * half * 20);
        double w = 2 * half / n, sum = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) sum += Math.Exp(-Potentials.U(pot, -half + (i + 0.5) * w, -half + (j + 0.5) * w));
        return Math.Log(sum * w * w);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EveryPotentialsMassLiesInsideTheNormalisersBox(int pot)
    {
        // Twice the box holds no more mass (to 1e-6 relative): without the wall U₂–U₄ would gain log 2 here.
        Assert.InRange(LogMass(pot, 12) - LogMass(pot, 6), -1e-9, 1e-6);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.3)]
    [InlineData(3.999)]
    public void InsideTheDrawingWindowThePotentialsAreThePublishedOnes(double x)
    {
        Assert.Equal(0, Potentials.Wall(x));
        Assert.Equal(0, Potentials.Wall(-x));
    }

    [Fact]
    public void TheWallIsContinuousWithItsDerivative()
    {
        const double h = 1e-6;
        Assert.Equal(0, Potentials.Wall(Potentials.WallAt));
        double slopeJustOutside = (Potentials.Wall(Potentials.WallAt + 2 * h) - Potentials.Wall(Potentials.WallAt + h)) / h;
        Assert.InRange(slopeJustOutside, 0, 1e-3);
        Assert.Equal(0.5 * 25, Potentials.Wall(-(Potentials.WallAt + 1)), 12); // ½((5 − 4)/0.2)²
    }
}
