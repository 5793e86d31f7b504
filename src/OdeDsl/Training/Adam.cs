using System.Numerics;

namespace OdeDsl.Training;

/// <summary>How Adam applies weight decay.</summary>
public enum AdamWeightDecay
{
    /// <summary>g ← g + λθ before the moments (torch.optim.Adam's <c>weight_decay</c>).</summary>
    L2,
    /// <summary>θ ← θ(1 − lr·λ) apart from the moments (Loshchilov &amp; Hutter 2019; torch.optim.AdamW).</summary>
    Decoupled,
}

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with PyTorch's formulation: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
/// </summary>
public sealed class Adam<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _m, _v;

    public Adam(int parameterCount, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0, AdamWeightDecay decay = AdamWeightDecay.L2)
        : base(parameterCount, learningRate, weightDecay)
    {
        ValidateUnit(beta1, nameof(beta1));
        ValidateUnit(beta2, nameof(beta2));
        ValidatePositive(epsilon, nameof(epsilon));
        Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon; Decay = decay;
        _m = new T[parameterCount];
        _v = new T[parameterCount];
    }

    public override string Kind => "Adam";
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public AdamWeightDecay Decay { get; }
    internal override IReadOnlyList<T[]> StateBuffers => [_m, _v];

    private protected override void Update(Span<T> p, ReadOnlySpan<T> g, long step)
    {
        T b1 = C(Beta1), b2 = C(Beta2), one = T.One, eps = C(Epsilon), lr = C(LearningRate), wd = C(WeightDecay);
        T bc1 = C(1 - Math.Pow(Beta1, step));
        T sqrtBc2 = T.Sqrt(C(1 - Math.Pow(Beta2, step)));
        T stepSize = lr / bc1;
        bool l2 = Decay == AdamWeightDecay.L2 && WeightDecay != 0;
        T shrink = Decay == AdamWeightDecay.Decoupled ? one - lr * wd : one;
        for (int i = 0; i < p.Length; i++)
        {
            T gi = l2 ? g[i] + wd * p[i] : g[i];
            p[i] *= shrink;
            _m[i] = b1 * _m[i] + (one - b1) * gi;
            _v[i] = b2 * _v[i] + (one - b2) * gi * gi;
            // PyTorch: denom = sqrt(v)/sqrt(bias_correction2) + eps; θ -= (lr/bias_correction1)·m/denom.
            p[i] -= stepSize * _m[i] / (T.Sqrt(_v[i]) / sqrtBc2 + eps);
        }
    }
}
