using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace OdeDsl.Tests.Distributed;

/// <summary>The parts of data-parallel training that need no MPI: sharding, the one-process group, fault detection, loading errors.</summary>
public class DataParallelTests
{
    [Theory]
    [InlineData(20, 2)]
    [InlineData(20, 3)]
    [InlineData(7, 7)]
    [InlineData(1000, 8)]
    public void ShardsCoverTheBatchInRankOrderAndDifferByAtMostOne(int batch, int size)
    {
        int next = 0;
        var counts = new List<int>();
        for (int r = 0; r < size; r++)
        {
            var (start, count) = ProcessGroup.Shard(batch, r, size);
            Assert.Equal(next, start);
            next += count;
            counts.Add(count);
        }
        Assert.Equal(batch, next);
        Assert.True(counts.Max() - counts.Min() <= 1);
    }

    [Fact]
    public void ShardRejectsMoreRanksThanRows()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ProcessGroup.Shard(3, 0, 4));
        Assert.Contains("3", e.Message);
    }

    [Fact]
    public void OneProcessReductionOnlyScalesAndReturnsTheLoss()
    {
        var dp = new DataParallel<double>(ProcessGroup.Single, 3);
        double[] g = [2, -4, 8];
        Assert.Equal(5.0, dp.ReduceGradients(g, 5.0, step: 0, scale: 0.5));
        Assert.Equal([1.0, -2.0, 4.0], g);
    }

    [Theory]
    [InlineData(double.NaN, 1.0, "non-finite loss")]
    [InlineData(1.0, double.PositiveInfinity, "non-finite gradient")]
    public void NonFiniteLossOrGradientStopsNamingRankAndStep(double loss, double gradientValue, string what)
    {
        var dp = new DataParallel<float>(ProcessGroup.Single, 2);
        float[] g = [1, (float)gradientValue];
        var e = Assert.Throws<DistributedTrainingException>(() => dp.ReduceGradients(g, loss, step: 17, scale: 1));
        Assert.Equal(0, e.Rank);
        Assert.Equal(17, e.Step);
        Assert.Contains("rank 0 hit a " + what, e.Message);
        Assert.Contains("global step 17", e.Message);
        Assert.Equal([1f, (float)gradientValue], g); // untouched: no partial reduction
        Assert.Equal(3, dp.RunGuarded(() => { dp.ReduceGradients(g, loss, 17, 1); return 0; }));
    }

    [Fact]
    public void SynchronizeStateOnOneProcessKeepsEverything()
    {
        var dp = new DataParallel<double>(ProcessGroup.Single, 2);
        double[] theta = [1, 2];
        var adam = new Adam<double>(2, 0.1);
        adam.Step(theta, [0.5, -0.5]);
        long it = 9;
        var rng = new Rng(4);
        rng.NextUInt64();
        var before = (theta.ToArray(), adam.Steps, rng.State);
        dp.SynchronizeState(theta, adam, ref it, ref rng);
        Assert.Equal(before.Item1, theta);
        Assert.Equal(before.Steps, adam.Steps);
        Assert.Equal(before.State, rng.State);
        Assert.Equal(9, it);
    }

    [Fact]
    public void MissingMpiLibraryGivesInstallInstructions()
    {
        var e = Assert.Throws<MpiUnavailableException>(() => MpiLibrary.LoadFrom(["/nonexistent/libmpi.so.40"]));
        Assert.Contains("/nonexistent/libmpi.so.40", e.Message);
        Assert.Contains("apt-get install openmpi-bin", e.Message);
        Assert.Contains(MpiLibrary.LibraryVariable, e.Message);
    }

    [Fact]
    public void ALibraryThatIsNotOpenMpiIsRefused()
    {
        var e = Assert.Throws<MpiUnavailableException>(() => MpiLibrary.LoadFrom(["libc.so.6"]));
        Assert.Contains("not Open MPI", e.Message);
    }
}
