using System.Numerics;
using OdeDsl;
using OdeDsl.Training;

namespace Mnist;

/// <summary>Table 1's four models.</summary>
public enum ModelKind { OdeNet, RkNet, ResNet, Mlp }

/// <summary>What one gradient step or one evaluation did.</summary>
public readonly record struct BatchResult(double Loss, int Correct, long NfeForward, long NfeBackward);

/// <summary>
/// odenet_mnist's classifiers on one flat θ: downsampling → feature block → head, with the feature block the ODE block
/// integrated over t ∈ [0, 1] (ODE-Net: adjoint gradients; RK-Net: backprop through the solver's steps), a stack of
/// residual blocks (ResNet), or nothing and a 784–300–10 MLP instead. θ = [downsampling | block(s) | head] in that order.
/// Buffers are sized once for <c>maxBatch</c>; a gradient step allocates only what the solver and the chosen sensitivity keep.
/// </summary>
public sealed class MnistClassifier<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows pushed through the downsampling layers at once (its workspace holds all intermediates: 1.5 MB per row in float).</summary>
    public const int DownChunk = 128;
    private const int Pixels = 784, Features = 2304, Classes = 10;

    private readonly int _maxBatch, _blocks;
    private readonly T[] _blockTheta, _downWs, _headWs, _blockWs, _mlpWs;
    private readonly T[] _features, _solved, _logits, _dLogits, _dFeatures, _dStates, _dInput;
    private readonly T[][] _activations; // ResNet: the input of every block, kept for the backward pass (memory O(depth))
    private readonly DynamicsRhs<OdeBlock.Dynamics, T>? _rhs;
    private readonly AdjointOptions _adjoint;

    /// <param name="adjoint">Options of the ODE-Net's adjoint backward solve (default: <see cref="AdjointOptions"/>'s defaults).</param>
    public MnistClassifier(ModelKind kind, int maxBatch, SolveOptions<T>? options = null, int resNetBlocks = 6, int seed = 0, AdjointOptions? adjoint = null)
    {
        _adjoint = adjoint ?? new AdjointOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(resNetBlocks, 1);
        Kind = kind;
        _maxBatch = maxBatch;
        _blocks = kind == ModelKind.ResNet ? resNetBlocks : 0;
        Options = options ?? new SolveOptions<T> { RelTol = T.CreateChecked(1e-3), AbsTol = T.CreateChecked(1e-3) };
        int down = Downsampling.DownFunction.ParameterCount, head = Classifier.HeadFunction.ParameterCount;
        BlockParameters = kind switch
        {
            ModelKind.OdeNet or ModelKind.RkNet => OdeBlock.Dynamics.ParameterCount,
            ModelKind.ResNet => _blocks * Residual.BlockFunction.ParameterCount,
            _ => 0,
        };
        Theta = kind == ModelKind.Mlp ? Perceptron.MlpFunction.Layout.Initialize<T>(seed) : InitialTheta(seed, down, head);
        _blockTheta = kind is ModelKind.OdeNet or ModelKind.RkNet ? new T[OdeBlock.Dynamics.ParameterCount] : [];
        bool conv = kind != ModelKind.Mlp;
        int chunk = Math.Min(maxBatch, DownChunk);
        _downWs = conv ? new T[Downsampling.DownFunction.WorkspaceLength(chunk)] : [];
        _headWs = conv ? new T[Classifier.HeadFunction.WorkspaceLength(maxBatch)] : [];
        _blockWs = kind == ModelKind.ResNet ? new T[Residual.BlockFunction.WorkspaceLength(maxBatch)] : [];
        _mlpWs = conv ? [] : new T[Perceptron.MlpFunction.WorkspaceLength(maxBatch)];
        _features = conv ? new T[maxBatch * Features] : [];
        _solved = conv ? new T[maxBatch * Features] : [];
        _dFeatures = conv ? new T[maxBatch * Features] : [];
        _dStates = kind is ModelKind.OdeNet or ModelKind.RkNet ? new T[2 * maxBatch * Features] : [];
        _dInput = new T[(conv ? chunk : maxBatch) * Pixels];
        _logits = new T[maxBatch * Classes];
        _dLogits = new T[maxBatch * Classes];
        _activations = new T[_blocks + 1][];
        for (int i = 0; i <= _blocks && kind == ModelKind.ResNet; i++) _activations[i] = new T[maxBatch * Features];
        if (kind is ModelKind.OdeNet or ModelKind.RkNet) _rhs = new DynamicsRhs<OdeBlock.Dynamics, T>(_blockTheta, maxBatch);
    }

    public ModelKind Kind { get; }
    public T[] Theta { get; }
    public int BlockParameters { get; }
    public int ParameterCount => Theta.Length;
    public SolveOptions<T> Options { get; set; }
    private static readonly T[] Interval = [T.Zero, T.One];

    /// <summary>Called after the feature block's forward pass and after its backward pass, while the pass's records are
    /// alive (memory measurement: the RK-Net's tape is largest right after the forward pass).</summary>
    public Action? Probe { get; set; }

    /// <summary>Names of the phases <see cref="PhaseSeconds"/> times, in its order.</summary>
    public static readonly string[] PhaseNames = ["downsampling_forward", "block_forward", "head_forward_loss", "head_vjp", "block_backward", "downsampling_vjp"];

    /// <summary>When set (length <see cref="PhaseNames"/>), <see cref="Run"/> ADDS each phase's wall seconds into it (bench profiling).</summary>
    public double[]? PhaseSeconds { get; set; }

    private long _phaseStart;

    private void Phase(int index)
    {
        if (PhaseSeconds is not { } p) return;
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (index >= 0) p[index] += (now - _phaseStart) / (double)System.Diagnostics.Stopwatch.Frequency;
        _phaseStart = now;
    }

    public Sensitivity Sensitivity => Kind == ModelKind.RkNet ? Sensitivity.Backprop : Sensitivity.Adjoint(_adjoint);

    private int DownCount => Kind == ModelKind.Mlp ? 0 : Downsampling.DownFunction.ParameterCount;

    private T[] InitialTheta(int seed, int down, int head)
    {
        var theta = new T[down + BlockParameters + head];
        Downsampling.DownFunction.Layout.Initialize<T>(seed).CopyTo(theta, 0);
        if (Kind == ModelKind.ResNet)
            for (int i = 0; i < _blocks; i++)
                Residual.BlockFunction.Layout.Initialize<T>(seed + 1 + i).CopyTo(theta, down + i * Residual.BlockFunction.ParameterCount);
        else
            OdeBlock.Parameters.Initialize<T>(seed + 1).CopyTo(theta, down);
        Classifier.HeadFunction.Layout.Initialize<T>(seed + 100).CopyTo(theta, down + BlockParameters);
        return theta;
    }

    /// <summary>
    /// Loss and accuracy on <paramref name="images"/> ([batch, 784] in [0, 1]); with a non-empty <paramref name="gradient"/>
    /// (length <see cref="ParameterCount"/>) also dL/dθ of the mean cross-entropy, overwritten.
    /// </summary>
    public BatchResult Run(ReadOnlySpan<T> images, ReadOnlySpan<byte> labels, Span<T> gradient)
    {
        int batch = labels.Length;
        if (batch < 1 || batch > _maxBatch)
            throw new ArgumentOutOfRangeException(nameof(labels), batch, $"batch must lie in [1, {_maxBatch}] (the size this classifier was built for).");
        if (images.Length != batch * Pixels)
            throw new ArgumentException($"images has {images.Length} elements; {batch} images need {batch * Pixels}.", nameof(images));
        bool grad = !gradient.IsEmpty;
        if (grad && gradient.Length != Theta.Length)
            throw new ArgumentException($"gradient has {gradient.Length} elements; θ has {Theta.Length}.", nameof(gradient));
        if (grad) gradient.Clear();
        var logits = _logits.AsSpan(0, batch * Classes);
        var dLogits = grad ? _dLogits.AsSpan(0, batch * Classes) : default;

        if (Kind == ModelKind.Mlp)
        {
            Perceptron.MlpFunction.Forward<T>(images, Theta, logits, batch, _mlpWs);
            double l = SoftmaxCrossEntropy.Compute<T>(logits, labels, Classes, dLogits, out int c);
            if (grad) Perceptron.MlpFunction.VectorJacobianProduct<T>(images, Theta, dLogits, _dInput.AsSpan(0, batch * Pixels), gradient, batch, _mlpWs);
            return new BatchResult(l, c, 0, 0);
        }

        int down = DownCount, headAt = down + BlockParameters;
        ReadOnlySpan<T> thetaDown = Theta.AsSpan(0, down), thetaHead = Theta.AsSpan(headAt);
        var features = _features.AsSpan(0, batch * Features);
        Phase(-1);
        for (int r = 0; r < batch; r += DownChunk)
        {
            int n = Math.Min(DownChunk, batch - r);
            Downsampling.DownFunction.Forward<T>(images.Slice(r * Pixels, n * Pixels), thetaDown, features.Slice(r * Features, n * Features), n,
                _downWs.AsSpan(0, Downsampling.DownFunction.WorkspaceLength(n)));
        }

        Phase(0);
        // The feature block: h = block(features).
        long nfeForward = 0, nfeBackward = 0;
        Span<T> h;
        OdeForward<OdeBlock.Dynamics, T>? ode = null;
        if (Kind == ModelKind.ResNet)
        {
            features.CopyTo(_activations[0]);
            int p = Residual.BlockFunction.ParameterCount;
            for (int i = 0; i < _blocks; i++)
                Residual.BlockFunction.Forward<T>(_activations[i].AsSpan(0, batch * Features), Theta.AsSpan(down + i * p, p),
                    _activations[i + 1].AsSpan(0, batch * Features), batch, BlockWorkspace(batch));
            h = _activations[_blocks].AsSpan(0, batch * Features);
        }
        else
        {
            Theta.AsSpan(down, BlockParameters).CopyTo(_blockTheta);
            h = _solved.AsSpan(0, batch * Features);
            if (grad)
            {
                ode = Ode.Forward<OdeBlock.Dynamics, T>(features, Interval, _blockTheta, Sensitivity, Options);
                ode.Solution.States.AsSpan(batch * Features, batch * Features).CopyTo(h);
                nfeForward = ode.Solution.Stats.FunctionEvaluations;
            }
            else
            {
                var solution = Ode.Solve(_rhs!.Value, features, Interval, Options);
                solution.States.AsSpan(batch * Features, batch * Features).CopyTo(h);
                nfeForward = solution.Stats.FunctionEvaluations;
            }
        }

        if (grad) Probe?.Invoke();
        Phase(1);
        Classifier.HeadFunction.Forward<T>(h, thetaHead, logits, batch, HeadWorkspace(batch));
        double loss = SoftmaxCrossEntropy.Compute<T>(logits, labels, Classes, dLogits, out int correct);
        Phase(2);
        if (!grad) return new BatchResult(loss, correct, nfeForward, 0);

        // Backward: head, block, downsampling; each VJP adds its θ part into the gradient.
        var dFeatures = _dFeatures.AsSpan(0, batch * Features);
        Classifier.HeadFunction.VectorJacobianProduct<T>(h, thetaHead, dLogits, dFeatures, gradient.Slice(headAt), batch, HeadWorkspace(batch));
        Phase(3);
        if (Kind == ModelKind.ResNet)
        {
            int p = Residual.BlockFunction.ParameterCount;
            var dIn = _solved.AsSpan(0, batch * Features); // free here: the ResNet keeps its states in _activations
            for (int i = _blocks - 1; i >= 0; i--)
            {
                Residual.BlockFunction.VectorJacobianProduct<T>(_activations[i].AsSpan(0, batch * Features), Theta.AsSpan(down + i * p, p), dFeatures,
                    dIn, gradient.Slice(down + i * p, p), batch, BlockWorkspace(batch));
                dIn.CopyTo(dFeatures);
            }
        }
        else
        {
            var dStates = _dStates.AsSpan(0, 2 * batch * Features);
            dStates[..(batch * Features)].Clear();
            dFeatures.CopyTo(dStates[(batch * Features)..]);
            var g = ode!.Backward(dStates);
            g.Theta.CopyTo(gradient.Slice(down, BlockParameters));
            g.InitialState.CopyTo(dFeatures);
            nfeBackward = g.Backward.FunctionEvaluations;
            Probe?.Invoke();
            GC.KeepAlive(ode);
        }
        Phase(4);
        for (int r = 0; r < batch; r += DownChunk)
        {
            int n = Math.Min(DownChunk, batch - r);
            var ws = _downWs.AsSpan(0, Downsampling.DownFunction.WorkspaceLength(n));
            // One chunk: its workspace still holds the forward pass above, so the VJP skips recomputing it.
            if (n == batch)
                Downsampling.DownFunction.VectorJacobianProductAfterForward<T>(images, thetaDown, dFeatures, _dInput.AsSpan(0, n * Pixels), gradient[..down], n, ws);
            else
                Downsampling.DownFunction.VectorJacobianProduct<T>(images.Slice(r * Pixels, n * Pixels), thetaDown, dFeatures.Slice(r * Features, n * Features),
                    _dInput.AsSpan(0, n * Pixels), gradient[..down], n, ws);
        }
        Phase(5);
        return new BatchResult(loss, correct, nfeForward, nfeBackward);
    }

    private Span<T> HeadWorkspace(int batch) => _headWs.AsSpan(0, Classifier.HeadFunction.WorkspaceLength(batch));
    private Span<T> BlockWorkspace(int batch) => _blockWs.AsSpan(0, Residual.BlockFunction.WorkspaceLength(batch));
}
