using OdeDsl;
using static OdeDsl.Ops;

namespace LatentOde;

/// <summary>Sizes of the paper's model (Chen et al. 2018 §5.1; latent_ode.py: latent_dim 4, nhidden 20, rnn_nhidden 25, obs_dim 2).</summary>
public static class Sizes
{
    public const int Observed = 2, Latent = 4, FieldHidden = 20, RnnHidden = 25;
    /// <summary>A recurrent cell's input: the observation, one time value, the previous hidden state.</summary>
    public const int CellInput = Observed + 1 + RnnHidden;
}

/// <summary>The latent dynamics of the paper: one hidden layer of 20 units (ELU, the code's activation).</summary>
public static partial class LatentField
{
    [OdeDynamics]
    public static Vec F([Shape(4)] Vec z, [Param(20, 4)] Mat W1, [Param(20)] Vec b1, [Param(4, 20)] Mat W2, [Param(4)] Vec b2)
        => W2 * Elu(W1 * z + b1) + b2;
}

/// <summary>The paper code's LatentODEfunc: 4–20–20–4 with ELU.</summary>
public static partial class DeepLatentField
{
    [OdeDynamics]
    public static Vec F([Shape(4)] Vec z, [Param(20, 4)] Mat W1, [Param(20)] Vec b1, [Param(20, 20)] Mat W2, [Param(20)] Vec b2,
                        [Param(4, 20)] Mat W3, [Param(4)] Vec b3)
        => W3 * Elu(W2 * Elu(W1 * z + b1) + b2) + b3;
}

/// <summary>
/// The latent ODE with a Poisson-process likelihood of the observation times (Chen et al. 2018 §5.1, Fig. 7): the state is
/// [z (4), Λ], z following the paper's field and Λ the integrated intensity dΛ/dt = λ(z) = softplus(U₂·tanh(U₁z + c₁) + c₂)
/// (a 4–8–1 network), so that ∫λ dt over the window is read off the solve. The intensity's weights are the last four
/// parameters, in the same layout as <see cref="Networks.Intensity"/> takes them for the log λ(tᵢ) terms.
/// </summary>
public static partial class PoissonLatentField
{
    [OdeDynamics]
    public static Vec F([Shape(5)] Vec s, [Param(20, 4)] Mat W1, [Param(20)] Vec b1, [Param(4, 20)] Mat W2, [Param(4)] Vec b2,
                        [Param(8, 4)] Mat U1, [Param(8)] Vec c1, [Param(1, 8)] Mat U2, [Param(1)] Vec c2)
        => Concat(W2 * Elu(W1 * s[0..4] + b1) + b2, Softplus(U2 * Tanh(U1 * s[0..4] + c1) + c2));
}

public static partial class Networks
{
    /// <summary>The Poisson process's intensity λ(z) = softplus(U₂·tanh(U₁z + c₁) + c₂) (see <see cref="PoissonLatentField"/>).</summary>
    [Differentiable]
    public static Vec Intensity([Shape(4)] Vec z, [Param(8, 4)] Mat U1, [Param(8)] Vec c1, [Param(1, 8)] Mat U2, [Param(1)] Vec c2)
        => Softplus(U2 * Tanh(U1 * z + c1) + c2);

    /// <summary>
    /// The recurrent cell of the recognition network and of the RNN baseline (the code's RecognitionRNN.i2h with tanh):
    /// h' = tanh(W·[x, t, h] + b). The time input is the observation's time (encoder) or the gap to the previous one (RNN):
    /// with irregular samples the cell must be told when it sees a point (the code's regular grid left it implicit).
    /// </summary>
    [Differentiable]
    public static Vec Cell([Shape(28)] Vec u, [Param(25, 28)] Mat W, [Param(25)] Vec b) => Tanh(W * u + b);

    /// <summary>The recognition network's output layer (h2o): [mean, log-variance] of q(z₀).</summary>
    [Differentiable]
    public static Vec Posterior([Shape(25)] Vec h, [Param(8, 25)] Mat W, [Param(8)] Vec b) => W * h + b;

    /// <summary>The decoder (the code's Decoder): 4–20 ReLU–2.</summary>
    [Differentiable]
    public static Vec Decode([Shape(4)] Vec z, [Param(20, 4)] Mat W1, [Param(20)] Vec b1, [Param(2, 20)] Mat W2, [Param(2)] Vec b2)
        => W2 * Relu(W1 * z + b1) + b2;

    /// <summary>The RNN baseline's output: the next observation from the hidden state and the gap to it.</summary>
    [Differentiable]
    public static Vec Predict([Shape(26)] Vec u, [Param(2, 26)] Mat W, [Param(2)] Vec b) => W * u + b;
}
