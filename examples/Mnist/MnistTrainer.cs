using System.Diagnostics;
using System.Numerics;
using OdeDsl.Data;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace Mnist;

/// <summary>Settings of one training run (the defaults are odenet_mnist.py's).</summary>
public sealed record TrainSettings
{
    public ModelKind Model { get; init; } = ModelKind.OdeNet;
    public int Epochs { get; init; } = 160;
    public int Batch { get; init; } = 128;
    public int TestBatch { get; init; } = 1000;
    public double LearningRate { get; init; } = 0.1;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; }
    /// <summary>Epochs (fractions allowed) after which the learning rate is multiplied by 0.1; applied per step, so a
    /// fractional milestone decays within an epoch (a one-epoch quick run decays for its last third).</summary>
    public double[] Milestones { get; init; } = [60, 100, 140];
    public int CropPadding { get; init; } = 4;
    public double RelTol { get; init; } = 1e-3;
    public double AbsTol { get; init; } = 1e-3;
    public int TrainLimit { get; init; }   // 0 = all 60,000
    public int TestLimit { get; init; }    // 0 = all 10,000
    public int ResNetBlocks { get; init; } = 6;
    public int Seed { get; init; }
}

/// <summary>
/// odenet_mnist's training loop: per epoch a fresh shuffle, random crops with 4-pixel padding, SGD with momentum and a
/// step schedule applied per epoch, then a test pass. The RNG, θ, optimiser and epoch are checkpointed at each epoch's
/// end, so a resumed run continues exactly as an uninterrupted one. With a <see cref="DataParallel{T}"/> (--distributed)
/// every rank draws the same shuffle and the same crops for the whole global batch, runs only its contiguous shard, and
/// the shards' summed-loss gradients are added in rank order and scaled by 1/batch before the step.
/// </summary>
public sealed class MnistTrainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TrainSettings _s;
    private readonly MnistSplit _train, _test;
    private readonly LearningRateSchedule _schedule;
    private readonly int[] _order;
    private readonly T[] _images, _gradient;
    private readonly byte[] _labels;
    private readonly DataParallel<T>? _parallel;
    private readonly double[] _correct = new double[1], _allCorrect;
    private Rng _rng;

    public MnistTrainer(TrainSettings settings, MnistSplit train, MnistSplit test, ProcessGroup? group = null)
    {
        _s = settings;
        _train = train;
        _test = test;
        Classifier = new MnistClassifier<T>(settings.Model, Math.Max(settings.Batch, settings.TestBatch), Tolerances(settings.RelTol, settings.AbsTol),
            settings.ResNetBlocks, settings.Seed);
        Optimizer = new Sgd<T>(Classifier.ParameterCount, settings.LearningRate, settings.Momentum, weightDecay: settings.WeightDecay);
        _schedule = LearningRateSchedule.MultiStep(settings.LearningRate, settings.Milestones.Select(m => (long)Math.Round(m * StepsPerEpoch)));
        _order = new int[TrainCount];
        _images = new T[Math.Max(settings.Batch, settings.TestBatch) * 784];
        _labels = new byte[Math.Max(settings.Batch, settings.TestBatch)];
        _gradient = new T[Classifier.ParameterCount];
        _rng = new Rng((ulong)settings.Seed + 12345);
        _parallel = group is null ? null : new DataParallel<T>(group, Classifier.ParameterCount);
        _allCorrect = new double[group?.Size ?? 1];
    }

    public static OdeDsl.SolveOptions<T> Tolerances(double rtol, double atol) => new() { RelTol = T.CreateChecked(rtol), AbsTol = T.CreateChecked(atol) };

    public MnistClassifier<T> Classifier { get; }
    /// <summary>The data-parallel helper with --distributed, else null.</summary>
    public DataParallel<T>? Parallel => _parallel;
    public Sgd<T> Optimizer { get; }
    public int Epoch { get; private set; }
    public int TrainCount => _s.TrainLimit > 0 ? Math.Min(_s.TrainLimit, _train.Count) : _train.Count;
    public int TestCount => _s.TestLimit > 0 ? Math.Min(_s.TestLimit, _test.Count) : _test.Count;
    public int StepsPerEpoch => (TrainCount + _s.Batch - 1) / _s.Batch;

    /// <summary>The smallest global batch of an epoch (the last one when the batch does not divide the images).</summary>
    public int SmallestBatch => TrainCount % _s.Batch is var rest && rest != 0 ? rest : Math.Min(_s.Batch, TrainCount);

    /// <summary>One epoch of training; <paramref name="onBatch"/> hears every step (its index within the epoch, result, seconds).</summary>
    public void TrainEpoch(Action<int, BatchResult, double> onBatch, Func<bool>? stop = null)
    {
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        for (int i = _order.Length - 1; i > 0; i--)
        {
            int j = _rng.NextInt(i + 1);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
        for (int step = 0, start = 0; start < _order.Length; step++, start += _s.Batch)
        {
            if (stop?.Invoke() == true) return;
            var clock = Stopwatch.StartNew();
            _schedule.Apply(Optimizer, (long)Epoch * StepsPerEpoch + step);
            int n = Math.Min(_s.Batch, _order.Length - start);
            var idx = _order.AsSpan(start, n);
            ImageBatch.Fill<T>(_train.Images, idx, _images.AsSpan(0, n * 784), _s.CropPadding, ref _rng);
            for (int b = 0; b < n; b++) _labels[b] = _train.Labels[idx[b]];
            var r = _parallel is null ? Classifier.Run(_images.AsSpan(0, n * 784), _labels.AsSpan(0, n), _gradient)
                : ShardStep(_parallel, n, (long)Epoch * StepsPerEpoch + step);
            Optimizer.Step(Classifier.Theta, _gradient);
            onBatch(step, r, clock.Elapsed.TotalSeconds);
        }
        Epoch++;
    }

    /// <summary>This rank's shard of the global batch of <paramref name="n"/> (already filled); returns the global batch's
    /// loss and correct count (the NFE are this rank's shard's: each shard takes its own dopri5 steps).</summary>
    private BatchResult ShardStep(DataParallel<T> parallel, int n, long globalStep)
    {
        var (first, count) = parallel.Shard(n);
        var r = Classifier.Run(_images.AsSpan(first * 784, count * 784), _labels.AsSpan(first, count), _gradient);
        T c = T.CreateChecked(count); // the shard's mean → its sum; ReduceGradients adds the sums in rank order and divides by n
        for (int i = 0; i < _gradient.Length; i++) _gradient[i] *= c;
        double loss = parallel.ReduceGradients(_gradient, r.Loss * count, globalStep, 1.0 / n) / n;
        _correct[0] = r.Correct;
        parallel.Group.AllGather<double>(_correct, _allCorrect);
        double correct = 0;
        foreach (double k in _allCorrect) correct += k;
        return r with { Loss = loss, Correct = (int)correct };
    }

    /// <summary>Makes every rank hold rank 0's θ, optimiser state, epoch and RNG (at start and after rank 0 resumed).</summary>
    public void Synchronize()
    {
        if (_parallel is not { } parallel) return;
        long epoch = Epoch;
        parallel.SynchronizeState(Classifier.Theta, Optimizer, ref epoch, ref _rng);
        Epoch = checked((int)epoch);
    }

    /// <summary>Loss, accuracy and mean forward NFE per batch on the test set, in batches of TestBatch.</summary>
    public (double Loss, double Accuracy, double Nfe, double Seconds) Test()
    {
        var clock = Stopwatch.StartNew();
        double loss = 0; long correct = 0, nfe = 0; int batches = 0;
        var dummy = new Rng(1);
        var idx = new int[_s.TestBatch];
        for (int start = 0; start < TestCount; start += _s.TestBatch, batches++)
        {
            int n = Math.Min(_s.TestBatch, TestCount - start);
            for (int b = 0; b < n; b++) { idx[b] = start + b; _labels[b] = _test.Labels[start + b]; }
            ImageBatch.Fill<T>(_test.Images, idx.AsSpan(0, n), _images.AsSpan(0, n * 784), 0, ref dummy);
            var r = Classifier.Run(_images.AsSpan(0, n * 784), _labels.AsSpan(0, n), default);
            loss += r.Loss * n; correct += r.Correct; nfe += r.NfeForward;
        }
        return (loss / TestCount, (double)correct / TestCount, (double)nfe / batches, clock.Elapsed.TotalSeconds);
    }

    public void SaveCheckpoint(string path) => Checkpoint.Save<T>(path, Classifier.Theta, Optimizer, Epoch, _rng);

    public void LoadCheckpoint(string path)
    {
        var state = Checkpoint.Load<T>(path, Classifier.Theta, Optimizer);
        Epoch = checked((int)state.Iteration);
        _rng = state.Rng;
    }
}
