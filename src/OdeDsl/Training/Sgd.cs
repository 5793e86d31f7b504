using System.Numerics;

namespace OdeDsl.Training;

/// <summary>
/// Stochastic gradient descent with torch.optim.SGD's formulation: g ← g + λθ; with momentum μ,
/// b ← g on the first step, then b ← μb + (1−dampening)g; the step uses g + μb (Nesterov) or b.
/// odenet_mnist trains with momentum 0.9, lr 0.1.
/// </summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _buffer;

    public Sgd(int parameterCount, double learningRate, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0)
        : base(parameterCount, learningRate, weightDecay)
    {
        ValidateUnit(momentum, nameof(momentum));
        ValidateUnit(dampening, nameof(dampening));
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening = 0 (as in PyTorch).", nameof(nesterov));
        Momentum = momentum; Dampening = dampening; Nesterov = nesterov;
        _buffer = new T[momentum > 0 ? parameterCount : 0];
    }

    public override string Kind => "SGD";
    public double Momentum { get; }
    public double Dampening { get; }
    public bool Nesterov { get; }
    internal override IReadOnlyList<T[]> StateBuffers => Momentum > 0 ? [_buffer] : [];

    private protected override void Update(Span<T> p, ReadOnlySpan<T> g, long step)
    {
        T lr = C(LearningRate), wd = C(WeightDecay), mu = C(Momentum), keep = T.One - C(Dampening);
        bool decay = WeightDecay != 0, momentum = Momentum > 0, first = step == 1;
        for (int i = 0; i < p.Length; i++)
        {
            T gi = decay ? g[i] + wd * p[i] : g[i];
            if (momentum)
            {
                _buffer[i] = first ? gi : mu * _buffer[i] + keep * gi;
                gi = Nesterov ? gi + mu * _buffer[i] : _buffer[i];
            }
            p[i] -= lr * gi;
        }
    }
}
