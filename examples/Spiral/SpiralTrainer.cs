using System.Numerics;
using OdeDsl;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace Spiral;

/// <summary>
/// ode_demo's training loop: each iteration draws <c>batchSize</c> distinct start indices s (without replacement,
/// as np.random.choice(..., replace=False)), solves from true_y[s] over t[0 .. batchTime) and takes one RMSprop
/// step on mean |pred − true|. With a <see cref="DataParallel{T}"/> (--distributed) every rank draws the same global
/// batch, solves only its shard of the windows, and the gradients of the shards' summed |pred − true| are summed over
/// ranks and scaled by 1/n before the step.
/// </summary>
public sealed class SpiralTrainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SpiralProblem _problem;
    private readonly Sensitivity _sensitivity;
    private readonly SolveOptions<T> _options = new() { RelTol = T.CreateChecked(1e-7), AbsTol = T.CreateChecked(1e-9) };
    private readonly int _batchTime, _batchSize;
    private readonly int[] _pool;
    private readonly T[] _y0, _batchTimes, _target, _dLoss, _trueY0, _allTimes;
    private Rng _rng;

    public SpiralTrainer(SpiralProblem problem, Sensitivity sensitivity, ulong seed, int batchTime = 10, int batchSize = 20, double learningRate = 1e-3,
        LearningRateSchedule? schedule = null, DataParallel<T>? parallel = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchTime, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (batchSize > SpiralProblem.DataSize - batchTime)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"At most {SpiralProblem.DataSize - batchTime} distinct windows exist.");
        _problem = problem;
        _sensitivity = sensitivity;
        _batchTime = batchTime;
        _batchSize = batchSize;
        _pool = new int[SpiralProblem.DataSize - batchTime];
        _y0 = new T[batchSize * 2];
        _batchTimes = new T[batchTime];
        for (int i = 0; i < batchTime; i++) _batchTimes[i] = T.CreateChecked(problem.Times[i]);
        _target = new T[batchTime * batchSize * 2];
        _dLoss = new T[_target.Length];
        _trueY0 = [T.CreateChecked(problem.TrueY[0]), T.CreateChecked(problem.TrueY[1])];
        _allTimes = problem.Times.Select(T.CreateChecked).ToArray();
        _rng = new Rng(seed);
        Theta = SpiralProblem.DemoInitialParameters<T>(SpiralField.Dynamics.Layout, seed);
        Optimizer = new RmsProp<T>(Theta.Length, learningRate);
        _schedule = schedule ?? LearningRateSchedule.Constant(learningRate);
        _parallel = parallel;
    }

    private readonly DataParallel<T>? _parallel;

    private readonly LearningRateSchedule _schedule;

    public T[] Theta { get; }
    public RmsProp<T> Optimizer { get; }
    public long Iteration { get; private set; }

    /// <summary>One training step; returns the batch loss and the forward/backward work.</summary>
    public (double Loss, SolverStats Forward, SolverStats Backward) Step()
    {
        SampleBatch();
        if (_parallel is not null) return DistributedStep(_parallel);
        var forward = Ode.Forward<SpiralField.Dynamics, T>(_y0, _batchTimes, Theta, _sensitivity, _options);
        var pred = forward.Solution.States;
        T n = T.CreateChecked(_target.Length), sum = T.Zero;
        for (int i = 0; i < pred.Length; i++)
        {
            T d = pred[i] - _target[i];
            sum += T.Abs(d);
            _dLoss[i] = T.CopySign(T.One, d) / n; // d|x|/dx = sign(x); PyTorch also uses sign(0) = 0, a measure-zero difference
            if (d == T.Zero) _dLoss[i] = T.Zero;
        }
        var gradients = forward.Backward(_dLoss);
        _schedule.Apply(Optimizer, Iteration);
        Optimizer.Step(Theta, gradients.Theta);
        Iteration++;
        return (double.CreateChecked(sum / n), gradients.Forward, gradients.Backward);
    }

    /// <summary>The step on this rank's shard of the windows; the loss returned is the global batch's.</summary>
    private (double Loss, SolverStats Forward, SolverStats Backward) DistributedStep(DataParallel<T> parallel)
    {
        var (start, count) = parallel.Shard(_batchSize);
        var y0 = _y0.AsSpan(2 * start, 2 * count);
        var target = new T[_batchTime * count * 2];
        for (int i = 0; i < _batchTime; i++)
            _target.AsSpan((i * _batchSize + start) * 2, count * 2).CopyTo(target.AsSpan(i * count * 2)); // [time, shard, 2]
        var forward = Ode.Forward<SpiralField.Dynamics, T>(y0, _batchTimes, Theta, _sensitivity, _options);
        var pred = forward.Solution.States;
        var dLoss = new T[pred.Length];
        double sum = 0;
        for (int i = 0; i < pred.Length; i++)
        {
            T d = pred[i] - target[i];
            sum += double.CreateChecked(T.Abs(d));
            dLoss[i] = d == T.Zero ? T.Zero : T.CopySign(T.One, d);
        }
        var gradients = forward.Backward(dLoss);
        double n = _target.Length;
        double lossSum = parallel.ReduceGradients(gradients.Theta, sum, Iteration, scale: 1 / n);
        _schedule.Apply(Optimizer, Iteration);
        Optimizer.Step(Theta, gradients.Theta);
        Iteration++;
        return (lossSum / n, gradients.Forward, gradients.Backward);
    }

    /// <summary>Makes every rank hold rank 0's θ, optimiser state, iteration and RNG (at start and after rank 0 resumed).</summary>
    public void Synchronize(DataParallel<T> parallel)
    {
        long iteration = Iteration;
        parallel.SynchronizeState(Theta, Optimizer, ref iteration, ref _rng);
        Iteration = iteration;
    }

    /// <summary>ode_demo's test: solve from y₀ over all 1000 times; mean |pred − true|. Returns the prediction too, [1000, 2].</summary>
    public (double Loss, T[] Prediction, SolverStats Stats) Test()
    {
        var solution = Ode.Solve(new DynamicsRhs<SpiralField.Dynamics, T>(Theta, 1), _trueY0, _allTimes, _options);
        double sum = 0;
        var truth = _problem.TrueY;
        for (int i = 0; i < truth.Length; i++) sum += Math.Abs(double.CreateChecked(solution.States[i]) - truth[i]);
        return (sum / truth.Length, solution.States, solution.Stats);
    }

    public void SaveCheckpoint(string path) => Checkpoint.Save<T>(path, Theta, Optimizer, Iteration, _rng);

    public void LoadCheckpoint(string path)
    {
        var state = Checkpoint.Load<T>(path, Theta, Optimizer);
        Iteration = state.Iteration;
        _rng = state.Rng;
    }

    private void SampleBatch()
    {
        // Partial Fisher–Yates over a fresh identity pool: distinct starts, and the draw depends only on the RNG state.
        for (int i = 0; i < _pool.Length; i++) _pool[i] = i;
        var truth = _problem.TrueY;
        for (int b = 0; b < _batchSize; b++)
        {
            int j = b + _rng.NextInt(_pool.Length - b);
            (_pool[b], _pool[j]) = (_pool[j], _pool[b]);
            int s = _pool[b];
            _y0[2 * b] = T.CreateChecked(truth[2 * s]);
            _y0[2 * b + 1] = T.CreateChecked(truth[2 * s + 1]);
            for (int i = 0; i < _batchTime; i++)
            {
                int k = (i * _batchSize + b) * 2; // [time, batch, 2] like the solution's states
                _target[k] = T.CreateChecked(truth[2 * (s + i)]);
                _target[k + 1] = T.CreateChecked(truth[2 * (s + i) + 1]);
            }
        }
    }
}
