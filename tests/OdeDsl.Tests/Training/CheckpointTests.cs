using OdeDsl.Training;

namespace OdeDsl.Tests.Training;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("odedsl-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// A small stochastic training problem: noisy gradients of ½‖Aθ − b‖² with the noise and a minibatch row drawn from
    /// the RNG, so resuming needs θ, the optimiser's moments and step count, and the RNG position to be exact.
    /// </summary>
    private static void Train(double[] theta, Optimizer<double> opt, ref Rng rng, long from, long to)
    {
        var g = new double[theta.Length];
        var schedule = LearningRateSchedule.Warmup(LearningRateSchedule.Cosine(0.05, 60), 5);
        for (long it = from; it < to; it++)
        {
            int row = rng.NextInt(theta.Length);
            for (int i = 0; i < theta.Length; i++)
                g[i] = (i + 1) * (theta[i] - 1.0 / (i + 1)) + (i == row ? 0.5 : 0) + 0.1 * rng.NextGaussian();
            GradientClipping.ClipByGlobalNorm<double>(g, 5.0);
            schedule.Apply(opt, it);
            opt.Step(theta, g);
        }
    }

    public static TheoryData<string> Kinds => ["adam", "rmsprop", "sgd"];

    private static Optimizer<double> Create(string kind, int n) => kind switch
    {
        "adam" => new Adam<double>(n, 0.05, weightDecay: 1e-3, decay: AdamWeightDecay.Decoupled),
        "rmsprop" => new RmsProp<double>(n, 0.01, momentum: 0.5, centered: true),
        _ => new Sgd<double>(n, 0.05, momentum: 0.9, nesterov: true),
    };

    [Theory, MemberData(nameof(Kinds))]
    public void ResumedRunIsBitIdenticalToAnUninterruptedOne(string kind)
    {
        const int n = 7;
        var straight = new double[n];
        var rng1 = new Rng(42);
        Train(straight, Create(kind, n), ref rng1, 0, 60);

        var first = new double[n];
        var opt = Create(kind, n);
        var rng2 = new Rng(42);
        Train(first, opt, ref rng2, 0, 25);
        string path = Path.Combine(_dir, "ck.bin");
        Checkpoint.Save<double>(path, first, opt, 25, rng2);

        var resumed = new double[n];
        var fresh = Create(kind, n);
        var state = Checkpoint.Load<double>(path, resumed, fresh);
        Assert.Equal(25, state.Iteration);
        Assert.Equal(opt.Steps, fresh.Steps);
        var rng3 = state.Rng;
        Train(resumed, fresh, ref rng3, state.Iteration, 60);

        for (int i = 0; i < n; i++)
            Assert.Equal(BitConverter.DoubleToInt64Bits(straight[i]), BitConverter.DoubleToInt64Bits(resumed[i]));
    }

    private string SaveSample(out float[] theta)
    {
        theta = [1f, 2f, 3f, 4f];
        var opt = new Adam<float>(4);
        opt.Step(theta, [0.1f, 0.2f, 0.3f, 0.4f]);
        string path = Path.Combine(_dir, "sample.ckpt");
        Checkpoint.Save<float>(path, theta, opt, 1, new Rng(1));
        return path;
    }

    [Fact]
    public void CorruptedByteIsAChecksumErrorNamingTheFile()
    {
        string path = SaveSample(out _);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        var target = new float[4];
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load<float>(path, target, new Adam<float>(4)));
        Assert.Contains(path, e.Message);
        Assert.Contains("checksum", e.Message);
        Assert.Equal(new float[4], target); // nothing was overwritten
    }

    [Fact]
    public void TruncatedAndForeignFilesAreClearErrors()
    {
        string path = SaveSample(out _);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 9).ToArray());
        Assert.Contains("checksum", Assert.Throws<CheckpointException>(() => Checkpoint.Load<float>(path, new float[4], new Adam<float>(4))).Message);
        File.WriteAllText(path, "hello, not a checkpoint at all");
        Assert.Contains("magic", Assert.Throws<CheckpointException>(() => Checkpoint.Load<float>(path, new float[4], new Adam<float>(4))).Message);
        Assert.Contains("does not exist", Assert.Throws<CheckpointException>(() => Checkpoint.Load<float>(path + ".missing", new float[4], new Adam<float>(4))).Message);
    }

    [Fact]
    public void MismatchedOptimiserCountOrScalarTypeIsRejected()
    {
        string path = SaveSample(out var theta);
        Assert.Contains("optimiser Adam, loading into RMSprop",
            Assert.Throws<CheckpointException>(() => Checkpoint.Load<float>(path, new float[4], new RmsProp<float>(4))).Message);
        Assert.Contains("holds 4 parameters",
            Assert.Throws<CheckpointException>(() => Checkpoint.Load<float>(path, new float[5], new Adam<float>(5))).Message);
        Assert.Contains("4-byte scalars",
            Assert.Throws<CheckpointException>(() => Checkpoint.Load<double>(path, new double[4], new Adam<double>(4))).Message);

        var loaded = new float[4];
        var opt = new Adam<float>(4);
        Checkpoint.Load<float>(path, loaded, opt);
        Assert.Equal(theta, loaded);
        Assert.Equal(1, opt.Steps);
    }

    [Fact]
    public void OptimiserWithOtherStateBuffersIsRejected()
    {
        string path = Path.Combine(_dir, "rms.ckpt");
        var theta = new double[3];
        Checkpoint.Save<double>(path, theta, new RmsProp<double>(3), 0, new Rng(1));
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load<double>(path, theta, new RmsProp<double>(3, momentum: 0.9)));
        Assert.Contains("1 optimiser buffers", e.Message);
    }

    [Fact]
    public void SaveReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        string path = SaveSample(out _);
        SaveSample(out _);
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));

    [Fact]
    public void RngStateRoundTripsToTheSameStream()
    {
        var a = new Rng(7);
        a.NextUInt64();
        var b = Rng.FromState(a.State);
        for (int i = 0; i < 10; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.Throws<ArgumentException>(() => Rng.FromState((0, 0, 0, 0)));
    }
}
