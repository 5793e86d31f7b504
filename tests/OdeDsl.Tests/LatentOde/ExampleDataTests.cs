using LatentOde;

namespace OdeDsl.Tests.LatentOdeExample;

/// <summary>
/// The example's training windows start anywhere in the paper code's range (t0 ∈ [nsample, ntotal − nsample), so they
/// reach the end of the curve), so the test trajectories' horizons lie on the stretch of curve the training windows cover
/// (up to grid indices the random starts happen to miss: at most 0.1 % of the points). Cutting the training range by the horizon (as the data set does for its own horizon) left the
/// last 100 grid points, where the clockwise spiral's radius triples, in no training trajectory: 6.6 % of the test
/// horizon's points, which carried 78 % of its squared error.
/// </summary>
public class ExampleDataTests
{
    [Fact]
    public void TrainingCoversTheCodesStartRangeAndEveryTestHorizon()
    {
        var settings = new RunSettings("latent-ode", "paper", 30, 1, 1000, 1000, 0.01, "backprop", 1e-5, 1e-6, 0, "unused", 1, false, false);
        var (train, test) = settings.Data();
        int w = train.Settings.Window, total = train.Settings.Total, hz = test.Settings.Horizon;
        Assert.All(train.StartIndex, s => Assert.InRange(s, w, total - w - 1)); // the code's t0 range, [100, 899]
        Assert.Contains(train.StartIndex, s => s > total - w - hz - 1);      // beyond the range cut by the horizon
        var covered = new bool[total];
        foreach (int s in train.StartIndex) Array.Fill(covered, true, s, w);
        int outside = 0; // horizon points on grid indices that no training window covers (6.6 % with the cut range)
        for (int t = 0; t < test.Count; t++)
            for (int i = w; i < w + hz; i++)
                if (!covered[test.StartIndex[t] + i]) outside++;
        Assert.True(outside <= test.Count * hz / 1000, $"{outside} of {test.Count * hz} test horizon points lie where no training window goes");
        Assert.Equal(100, test.Settings.Horizon);
        Assert.Empty(train.TruthHorizon);
    }
}
