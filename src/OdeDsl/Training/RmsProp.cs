using System.Numerics;

namespace OdeDsl.Training;

/// <summary>
/// RMSprop (Tieleman &amp; Hinton 2012) with torch.optim.RMSprop's formulation and defaults (α = 0.99, ε = 1e-8,
/// ε added outside the square root): v ← αv + (1−α)g², θ ← θ − lr·g/(√v + ε); with momentum μ,
/// b ← μb + g/(√v + ε), θ ← θ − lr·b; centred, v is replaced by v − ḡ² with ḡ ← αḡ + (1−α)g.
/// The paper code's ode_demo uses it with lr 1e-3.
/// </summary>
public sealed class RmsProp<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _square, _momentum, _mean;

    public RmsProp(int parameterCount, double learningRate = 1e-2, double alpha = 0.99, double epsilon = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : base(parameterCount, learningRate, weightDecay)
    {
        ValidateUnit(alpha, nameof(alpha));
        ValidatePositive(epsilon, nameof(epsilon));
        ValidateUnit(momentum, nameof(momentum));
        Alpha = alpha; Epsilon = epsilon; Momentum = momentum; Centered = centered;
        _square = new T[parameterCount];
        _momentum = new T[momentum > 0 ? parameterCount : 0];
        _mean = new T[centered ? parameterCount : 0];
    }

    public override string Kind => "RMSprop";
    public double Alpha { get; }
    public double Epsilon { get; }
    public double Momentum { get; }
    public bool Centered { get; }
    internal override IReadOnlyList<T[]> StateBuffers => [_square, .. Momentum > 0 ? [_momentum] : Array.Empty<T[]>(), .. Centered ? [_mean] : Array.Empty<T[]>()];

    private protected override void Update(Span<T> p, ReadOnlySpan<T> g, long step)
    {
        T a = C(Alpha), one = T.One, eps = C(Epsilon), lr = C(LearningRate), wd = C(WeightDecay), mu = C(Momentum);
        bool decay = WeightDecay != 0, momentum = Momentum > 0, centered = Centered;
        for (int i = 0; i < p.Length; i++)
        {
            T gi = decay ? g[i] + wd * p[i] : g[i];
            _square[i] = a * _square[i] + (one - a) * gi * gi;
            T variance = _square[i];
            if (centered)
            {
                _mean[i] = a * _mean[i] + (one - a) * gi;
                variance -= _mean[i] * _mean[i];
            }
            T scaled = gi / (T.Sqrt(variance) + eps);
            if (momentum)
            {
                _momentum[i] = mu * _momentum[i] + scaled;
                scaled = _momentum[i];
            }
            p[i] -= lr * scaled;
        }
    }
}
