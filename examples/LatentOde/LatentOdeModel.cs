using System.Numerics;
using OdeDsl;
using OdeDsl.Models;
using OdeDsl.Training;
using Cell = LatentOde.Networks.CellFunction;
using Decoder = LatentOde.Networks.DecodeFunction;
using Posterior = LatentOde.Networks.PosteriorFunction;

namespace LatentOde;

/// <summary>What one gradient evaluation measured.</summary>
public readonly record struct StepReport(double Loss, double LogLikelihood, double Kl, long NfeForward, long NfeBackward);

/// <summary>
/// The latent ODE of Chen et al. 2018 §5 (latent_ode.py): an RNN run backwards over the observations gives q(z₀) =
/// N(μ, exp(logσ²)); z₀ = μ + ε·σ; z(t) solves dz/dt = f(z, θ_f) at every trajectory's own observation times in one call
/// (<see cref="Ode.ForwardAtSampleTimes{TDynamics, T}"/>); the decoder maps z(tᵢ) to the mean of N(x; ·, σ_obs²).
/// Loss = mean over the batch of −log p(x | z) + KL(q(z₀) ‖ N(0, I)), the negative ELBO, as the code computes it.
/// θ = [cell | posterior | field | decoder].
/// </summary>
public sealed class LatentOdeModel<TDyn, T>
    where TDyn : IOdeDynamics<TDyn>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int CellOffset => 0;
    public static int PosteriorOffset => Cell.ParameterCount;
    public static int FieldOffset => PosteriorOffset + Posterior.ParameterCount;
    public static int DecoderOffset => FieldOffset + TDyn.ParameterCount;
    public static int ParameterCount => DecoderOffset + Decoder.ParameterCount;

    public LatentOdeModel(Sensitivity sensitivity, SolveOptions<T> options, double noiseStd)
    {
        if (TDyn.StateSize != Sizes.Latent) throw new ArgumentException($"The latent field must have StateSize {Sizes.Latent}; {typeof(TDyn).Name} has {TDyn.StateSize}.");
        Sensitivity = sensitivity; Options = options; NoiseStd = noiseStd;
    }

    public Sensitivity Sensitivity { get; }
    public SolveOptions<T> Options { get; }
    /// <summary>σ of the observation model (the code's noise_std, fixed).</summary>
    public double NoiseStd { get; }

    /// <summary>PyTorch-style initial θ (each part from its layout's initialisers).</summary>
    public static T[] Initialize(int seed) =>
        [.. Cell.Layout.Initialize<T>(seed), .. Posterior.Layout.Initialize<T>(seed + 1), .. TDyn.Layout.Initialize<T>(seed + 2), .. Decoder.Layout.Initialize<T>(seed + 3)];

    private static Span<T> Part(Span<T> theta, int offset, int count) => theta.Slice(offset, count);

    /// <summary>The recognition RNN run backwards over the observations: the cell inputs of every step and q(z₀) as [batch, 8] = [μ, logσ²].</summary>
    public (T[] Inputs, T[] FinalHidden, T[] Posterior) Encode(T[] theta, SequenceBatch<T> batch)
    {
        int B = batch.Batch, n = batch.Count, H = Sizes.RnnHidden, U = Sizes.CellInput;
        var thetaCell = theta.AsSpan(CellOffset, Cell.ParameterCount);
        var inputs = new T[n * B * U];
        var h = new T[B * H];
        var ws = new T[Math.Max(Cell.WorkspaceLength(B), Posterior.WorkspaceLength(B))];
        for (int step = 0; step < n; step++)
        {
            int i = n - 1 - step; // backwards in time
            var u = inputs.AsSpan(step * B * U, B * U);
            for (int b = 0; b < B; b++)
            {
                var row = u.Slice(b * U, U);
                row[0] = batch.X[(b * n + i) * 2]; row[1] = batch.X[(b * n + i) * 2 + 1];
                row[2] = batch.TimeValues[b * n + i];
                h.AsSpan(b * H, H).CopyTo(row[3..]);
            }
            Cell.Forward<T>(u, thetaCell, h, B, ws);
        }
        var post = new T[B * 2 * Sizes.Latent];
        Posterior.Forward<T>(h, theta.AsSpan(PosteriorOffset, Posterior.ParameterCount), post, B, ws);
        return (inputs, h, post);
    }

    /// <summary>The posterior means μ of q(z₀), [batch, 4].</summary>
    public T[] PosteriorMean(T[] theta, SequenceBatch<T> batch)
    {
        var (_, _, post) = Encode(theta, batch);
        var mean = new T[batch.Batch * Sizes.Latent];
        for (int b = 0; b < batch.Batch; b++) post.AsSpan(b * 8, Sizes.Latent).CopyTo(mean.AsSpan(b * Sizes.Latent));
        return mean;
    }

    /// <summary>Negative ELBO of the batch (mean over trajectories) and its gradient into <paramref name="gradient"/> (overwritten).</summary>
    /// <param name="epsilon">[batch, 4] standard normal draws; null draws them from <paramref name="rng"/>.</param>
    public StepReport LossAndGradient(T[] theta, SequenceBatch<T> batch, ref Rng rng, Span<T> gradient, T[]? epsilon = null)
    {
        if (theta.Length != ParameterCount) throw new ArgumentException($"θ needs {ParameterCount} values; it has {theta.Length}.", nameof(theta));
        if (gradient.Length != ParameterCount) throw new ArgumentException($"The gradient needs {ParameterCount} values.", nameof(gradient));
        int B = batch.Batch, n = batch.Count, L = Sizes.Latent, H = Sizes.RnnHidden, U = Sizes.CellInput;
        gradient.Clear();
        var (inputs, hFinal, post) = Encode(theta, batch);

        // z₀ = μ + ε·exp(½ logσ²).
        var eps = epsilon ?? new T[B * L];
        if (epsilon is null) for (int i = 0; i < eps.Length; i++) eps[i] = T.CreateChecked(rng.NextGaussian());
        var z0 = new T[B * L];
        for (int b = 0; b < B; b++)
            GaussianElbo.Sample<T>(post.AsSpan(b * 2 * L, L), post.AsSpan(b * 2 * L + L, L), eps.AsSpan(b * L, L), z0.AsSpan(b * L, L));

        // z(tᵢ) at every trajectory's own times, decoded.
        var thetaField = theta.AsSpan(FieldOffset, TDyn.ParameterCount).ToArray();
        var forward = Ode.ForwardAtSampleTimes<TDyn, T>(z0, batch.Times, thetaField, Sensitivity, Options);
        int rows = batch.Times.Count;
        var xHat = new T[rows * Sizes.Observed];
        var decWs = new T[Decoder.WorkspaceLength(rows)];
        var thetaDec = theta.AsSpan(DecoderOffset, Decoder.ParameterCount);
        Decoder.Forward<T>(forward.States, thetaDec, xHat, rows, decWs);

        // −log p(x | z)/B and its gradient, back through the decoder and the solve.
        double scale = 1.0 / B;
        var gradXHat = new T[xHat.Length];
        double logPx = GaussianElbo.LogLikelihood<T>(batch.X, xHat, NoiseStd, gradXHat, -scale);
        var gradZ = new T[rows * L];
        Decoder.VectorJacobianProduct<T>(forward.States, thetaDec, gradXHat, gradZ, gradient.Slice(DecoderOffset, Decoder.ParameterCount), rows, decWs);
        var odeGrad = forward.Backward(gradZ);
        var gField = gradient.Slice(FieldOffset, TDyn.ParameterCount);
        for (int i = 0; i < gField.Length; i++) gField[i] += odeGrad.Theta[i];

        // Through the sample and the KL into [μ, logσ²].
        var gradPost = new T[post.Length];
        double kl = 0;
        for (int b = 0; b < B; b++)
        {
            var mean = post.AsSpan(b * 2 * L, L);
            var logVar = post.AsSpan(b * 2 * L + L, L);
            var gMean = gradPost.AsSpan(b * 2 * L, L);
            var gLogVar = gradPost.AsSpan(b * 2 * L + L, L);
            GaussianElbo.SampleBackward<T>(logVar, eps.AsSpan(b * L, L), odeGrad.InitialState.AsSpan(b * L, L), gMean, gLogVar);
            kl += GaussianElbo.KlToStandardNormal<T>(mean, logVar, gMean, gLogVar, scale);
        }

        // Posterior layer, then backpropagation through time over the encoder's steps (last step first).
        var ws = new T[Math.Max(Cell.WorkspaceLength(B), Posterior.WorkspaceLength(B))];
        var dh = new T[B * H];
        Posterior.VectorJacobianProduct<T>(hFinal, theta.AsSpan(PosteriorOffset, Posterior.ParameterCount), gradPost, dh,
            gradient.Slice(PosteriorOffset, Posterior.ParameterCount), B, ws);
        var gradU = new T[B * U];
        var thetaCell = theta.AsSpan(CellOffset, Cell.ParameterCount);
        var gCell = gradient.Slice(CellOffset, Cell.ParameterCount);
        for (int step = n - 1; step >= 0; step--)
        {
            Cell.VectorJacobianProduct<T>(inputs.AsSpan(step * B * U, B * U), thetaCell, dh, gradU, gCell, B, ws);
            for (int b = 0; b < B; b++) gradU.AsSpan(b * U + 3, H).CopyTo(dh.AsSpan(b * H, H));
        }
        return new StepReport((-logPx + kl) * scale, logPx * scale, kl * scale,
            forward.ForwardStats.FunctionEvaluations, odeGrad.Backward.FunctionEvaluations);
    }

    /// <summary>Decoded predictions [times.Count, 2] from given z₀ at per-trajectory times.</summary>
    public T[] Decode(T[] theta, T[] z0, SampleTimes<T> times)
    {
        var thetaField = theta.AsSpan(FieldOffset, TDyn.ParameterCount).ToArray();
        var z = LatentPath(thetaField, z0, times);
        int rows = times.Count;
        var x = new T[rows * Sizes.Observed];
        Decoder.Forward<T>(z, theta.AsSpan(DecoderOffset, Decoder.ParameterCount), x, rows, new T[Decoder.WorkspaceLength(rows)]);
        return x;
    }

    /// <summary>z(t) [times.Count, 4] from z₀ at per-trajectory times.</summary>
    public T[] LatentPath(T[] thetaField, T[] z0, SampleTimes<T> times)
        => Ode.SolveAtSampleTimes(new DynamicsRhs<TDyn, T>(thetaField, times.Batch), z0, times, Options).States;
}
