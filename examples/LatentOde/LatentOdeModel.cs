using System.Numerics;
using OdeDsl;
using OdeDsl.Models;
using OdeDsl.Training;
using Cell = LatentOde.Networks.CellFunction;
using Decoder = LatentOde.Networks.DecodeFunction;
using Intensity = LatentOde.Networks.IntensityFunction;
using Posterior = LatentOde.Networks.PosteriorFunction;

namespace LatentOde;

/// <summary>What one gradient evaluation measured; <paramref name="TimesLogLikelihood"/> is the Poisson-process term (0 without it);
/// <paramref name="Consistency"/> is the unweighted latent-consistency term (0 without it).</summary>
public readonly record struct StepReport(double Loss, double LogLikelihood, double Kl, long NfeForward, long NfeBackward, double TimesLogLikelihood = 0,
    double Consistency = 0);

/// <summary>
/// The latent ODE of Chen et al. 2018 §5 (latent_ode.py): an RNN run backwards over the observations gives q(z₀) =
/// N(μ, exp(logσ²)); z₀ = μ + ε·σ; z(t) solves dz/dt = f(z, θ_f) at every trajectory's own observation times in one call
/// (<see cref="Ode.ForwardAtSampleTimes{TDynamics, T}"/>); the decoder maps z(tᵢ) to the mean of N(x; ·, σ_obs²).
/// Loss = mean over the batch of −log p(x | z) + KL(q(z₀) ‖ N(0, I)), the negative ELBO, as the code computes it.
/// θ = [cell | posterior | field | decoder].
/// With a field of StateSize 5 (<see cref="PoissonLatentField"/>: [z, Λ], dΛ/dt = λ(z)) the observation times get a
/// Poisson-process likelihood too (§5.1, Fig. 7): log p(t₁ … tₙ) = Σᵢ log λ(z(tᵢ)) − ∫₀^T λ(z(t)) dt over the observed
/// window [0, T], the integral being Λ(T) (every trajectory is also solved to T); the loss subtracts it per trajectory.
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

    /// <param name="windowEnd">The end T of the observed window: needed (and only allowed) with a Poisson field.</param>
    public LatentOdeModel(Sensitivity sensitivity, SolveOptions<T> options, double noiseStd, double? windowEnd = null)
    {
        if (TDyn.StateSize != Sizes.Latent && !Poisson)
            throw new ArgumentException($"The latent field must have StateSize {Sizes.Latent} (or {Sizes.Latent + 1} with an integrated intensity); {typeof(TDyn).Name} has {TDyn.StateSize}.");
        if (Poisson != windowEnd.HasValue)
            throw new ArgumentException(Poisson ? $"{typeof(TDyn).Name} integrates a Poisson intensity: give the observed window's end (windowEnd)."
                                                : "windowEnd is only used with a Poisson field (StateSize 5).", nameof(windowEnd));
        if (windowEnd is { } end && !(end > 0)) throw new ArgumentOutOfRangeException(nameof(windowEnd), $"The window's end must be positive; it is {end}.");
        Sensitivity = sensitivity; Options = options; NoiseStd = noiseStd;
        WindowEnd = windowEnd is { } e ? T.CreateChecked(e) : T.Zero;
    }

    /// <summary>Whether the field carries the integrated intensity Λ as its fifth state component.</summary>
    public static bool Poisson => TDyn.StateSize == Sizes.Latent + 1;
    /// <summary>Offset of the intensity network's weights in θ (the field's last parameters), with a Poisson field.</summary>
    public static int IntensityOffset => DecoderOffset - Intensity.ParameterCount;
    /// <summary>The observed window's end T (Poisson field only).</summary>
    public T WindowEnd { get; }

    /// <summary>
    /// β of the KL term: loss = −log p(x | z) + β·KL(q(z₀) ‖ N(0, I)). 1 (the default) is the ELBO; β &gt; 1 (Higgins et
    /// al. 2017's β-VAE) charges z₀ more for the information it carries. <see cref="StepReport.Kl"/> stays the unweighted KL.
    /// </summary>
    public double KlWeight
    {
        get => klWeight;
        init => klWeight = double.IsFinite(value) && value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(KlWeight), $"The KL weight must be positive and finite; it is {value}.");
    }
    private readonly double klWeight = 1;

    /// <summary>
    /// γ of the latent-consistency term (0, the default: none; see <see cref="LossAndGradient"/>'s splits):
    /// loss += γ/2·‖z(t_m) − μ(suffix)‖², z(t_m) the solve's state at the m-th observation and μ(suffix) the posterior mean
    /// that the encoder gives for the observations from m on, their times counted from t_m.
    /// </summary>
    public double ConsistencyWeight
    {
        get => consistencyWeight;
        init => consistencyWeight = double.IsFinite(value) && value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(ConsistencyWeight), $"The consistency weight must be ≥ 0 and finite; it is {value}.");
    }
    private readonly double consistencyWeight;

    public Sensitivity Sensitivity { get; }
    public SolveOptions<T> Options { get; }
    /// <summary>σ of the observation model (the code's noise_std, fixed).</summary>
    public double NoiseStd { get; }

    /// <summary>PyTorch-style initial θ (each part from its layout's initialisers).</summary>
    public static T[] Initialize(int seed) =>
        [.. Cell.Layout.Initialize<T>(seed), .. Posterior.Layout.Initialize<T>(seed + 1), .. TDyn.Layout.Initialize<T>(seed + 2), .. Decoder.Layout.Initialize<T>(seed + 3)];

    private static Span<T> Part(Span<T> theta, int offset, int count) => theta.Slice(offset, count);

    /// <summary>
    /// The recognition RNN run backwards over the first <paramref name="encodeCount"/> observations of every trajectory (all
    /// of them by default): the cell inputs of every step and q(z₀) as [batch, 8] = [μ, logσ²].
    /// </summary>
    public (T[] Inputs, T[] FinalHidden, T[] Posterior) Encode(T[] theta, SequenceBatch<T> batch, int? encodeCount = null) =>
        Encode(theta, batch.X, batch.TimeValues, batch.Batch, batch.Count, EncodeCount(batch, encodeCount), null);

    /// <summary>The encoder over <paramref name="x"/> [batch, stride, 2] and <paramref name="t"/> [batch, stride], reading
    /// positions n − 1 down to 0 of each row.</summary>
    /// <param name="readCounts">
    /// Per row, how many of those positions the encoder reads, counted from the last: a row whose count is reached keeps
    /// its hidden state for the remaining steps, so left-padded sequences of different lengths are encoded as one batch
    /// (null: every row reads all n).
    /// </param>
    private static (T[] Inputs, T[] FinalHidden, T[] Posterior) Encode(T[] theta, T[] x, T[] t, int B, int stride, int n, int[]? readCounts)
    {
        int H = Sizes.RnnHidden, U = Sizes.CellInput;
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
                row[0] = x[(b * stride + i) * 2]; row[1] = x[(b * stride + i) * 2 + 1];
                row[2] = t[b * stride + i];
                h.AsSpan(b * H, H).CopyTo(row[3..]);
            }
            Cell.Forward<T>(u, thetaCell, h, B, ws);
            if (readCounts is not null)
                for (int b = 0; b < B; b++)
                    if (step >= readCounts[b]) u.Slice(b * U + 3, H).CopyTo(h.AsSpan(b * H, H)); // done: the state it had
        }
        var post = new T[B * 2 * Sizes.Latent];
        Posterior.Forward<T>(h, theta.AsSpan(PosteriorOffset, Posterior.ParameterCount), post, B, ws);
        return (inputs, h, post);
    }

    private static int EncodeCount(SequenceBatch<T> batch, int? encodeCount) => encodeCount switch
    {
        null => batch.Count,
        { } k when k >= 1 && k <= batch.Count => k,
        { } k => throw new ArgumentOutOfRangeException(nameof(encodeCount), $"The encoder reads 1 to {batch.Count} observations per trajectory; {k} was asked."),
    };

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
    /// <param name="encodeCount">
    /// How many of each trajectory's first observations q(z₀) reads (all by default, the paper's objective). The
    /// likelihood always covers all n, so with fewer the model is also trained to forecast the rest of the window from
    /// z₀ — Rubanova et al. 2019's extrapolation training ("Latent ODEs for irregularly-sampled time series", §4: encode
    /// the first half, predict the second), here mixed with reconstruction by the caller's choice of the count.
    /// </param>
    /// <param name="splits">
    /// With <see cref="ConsistencyWeight"/> γ &gt; 0: per trajectory, the observation index m (1 … n − 1) where the
    /// consistency term splits its window (one index for all, or each its own). The dynamics are time-invariant, so the
    /// state the solve reaches at t_m should be the z₀ that the encoder infers for the rest of the window seen as a window
    /// of its own (times from t_m): its posterior mean is pulled onto it and it onto that mean. The ELBO alone leaves the encoder free to put the z₀ of windows that start at different points
    /// of one curve on different orbits; then the solve, run on beyond the window, leaves the region training fitted —
    /// the failure this term targets (docs/experiments.md §3). Both sides get gradients.
    /// </param>
    public StepReport LossAndGradient(T[] theta, SequenceBatch<T> batch, ref Rng rng, Span<T> gradient, T[]? epsilon = null, int? encodeCount = null,
        int[]? splits = null)
    {
        if (splits is not null)
        {
            if (splits.Length != batch.Batch)
                throw new ArgumentException($"One split index per trajectory: {batch.Batch} expected, {splits.Length} given.", nameof(splits));
            foreach (int m in splits)
                if (m < 1 || m >= batch.Count) throw new ArgumentOutOfRangeException(nameof(splits), $"Split indices must lie in 1 … {batch.Count - 1}; {m} was given.");
            if (Poisson) throw new NotSupportedException("The consistency term is not combined with the Poisson likelihood of the times.");
        }
        if (theta.Length != ParameterCount) throw new ArgumentException($"θ needs {ParameterCount} values; it has {theta.Length}.", nameof(theta));
        if (gradient.Length != ParameterCount) throw new ArgumentException($"The gradient needs {ParameterCount} values.", nameof(gradient));
        int B = batch.Batch, n = EncodeCount(batch, encodeCount), L = Sizes.Latent;
        gradient.Clear();
        var (inputs, hFinal, post) = Encode(theta, batch, n);

        // z₀ = μ + ε·exp(½ logσ²).
        var eps = epsilon ?? new T[B * L];
        if (epsilon is null) for (int i = 0; i < eps.Length; i++) eps[i] = T.CreateChecked(rng.NextGaussian());
        var z0 = new T[B * L];
        for (int b = 0; b < B; b++)
            GaussianElbo.Sample<T>(post.AsSpan(b * 2 * L, L), post.AsSpan(b * 2 * L + L, L), eps.AsSpan(b * L, L), z0.AsSpan(b * L, L));

        // z(tᵢ) at every trajectory's own times (with a Poisson field: [z, Λ], and also at the window's end), decoded.
        var thetaField = theta.AsSpan(FieldOffset, TDyn.ParameterCount).ToArray();
        var times = Poisson ? WithWindowEnd(batch.Times) : batch.Times;
        var forward = Ode.ForwardAtSampleTimes<TDyn, T>(Poisson ? Augment(z0) : z0, times, thetaField, Sensitivity, Options);
        int rows = batch.Times.Count;
        var z = Poisson ? Observed(forward.States, batch.Times, times) : forward.States;
        var xHat = new T[rows * Sizes.Observed];
        var decWs = new T[Decoder.WorkspaceLength(rows)];
        var thetaDec = theta.AsSpan(DecoderOffset, Decoder.ParameterCount);
        Decoder.Forward<T>(z, thetaDec, xHat, rows, decWs);

        // −log p(x | z)/B and its gradient, back through the decoder and the solve.
        double scale = 1.0 / B;
        var gradXHat = new T[xHat.Length];
        double logPx = GaussianElbo.LogLikelihood<T>(batch.X, xHat, NoiseStd, gradXHat, -scale);
        var gradZ = new T[rows * L];
        Decoder.VectorJacobianProduct<T>(z, thetaDec, gradXHat, gradZ, gradient.Slice(DecoderOffset, Decoder.ParameterCount), rows, decWs);
        double consistency = 0;
        if (splits is not null && consistencyWeight > 0)
            consistency = ConsistencyTerm(theta, batch, splits, z, gradZ, gradient, T.CreateChecked(consistencyWeight * scale));
        double logPt = 0;
        var gradStates = gradZ;
        if (Poisson)
        {
            logPt = TimesLogLikelihood(theta, z, forward.States, batch.Times, times, gradZ, gradient.Slice(IntensityOffset, Intensity.ParameterCount), -scale);
            gradStates = Spread(gradZ, forward.States, batch.Times, times, T.CreateChecked(scale));
        }
        var odeGrad = forward.Backward(gradStates);
        var gField = gradient.Slice(FieldOffset, TDyn.ParameterCount);
        for (int i = 0; i < gField.Length; i++) gField[i] += odeGrad.Theta[i];
        var gradZ0 = Poisson ? Strip(odeGrad.InitialState, B) : odeGrad.InitialState;   // Λ(0) = 0 is not a variable

        // Through the sample and the KL into [μ, logσ²].
        var gradPost = new T[post.Length];
        double kl = 0;
        for (int b = 0; b < B; b++)
        {
            var mean = post.AsSpan(b * 2 * L, L);
            var logVar = post.AsSpan(b * 2 * L + L, L);
            var gMean = gradPost.AsSpan(b * 2 * L, L);
            var gLogVar = gradPost.AsSpan(b * 2 * L + L, L);
            GaussianElbo.SampleBackward<T>(logVar, eps.AsSpan(b * L, L), gradZ0.AsSpan(b * L, L), gMean, gLogVar);
            kl += GaussianElbo.KlToStandardNormal<T>(mean, logVar, gMean, gLogVar, scale * klWeight);
        }

        EncoderBackward(theta, inputs, hFinal, gradPost, B, n, gradient);
        return new StepReport((-logPx - logPt + klWeight * kl + consistencyWeight * consistency) * scale, logPx * scale, kl * scale,
            forward.ForwardStats.FunctionEvaluations, odeGrad.Backward.FunctionEvaluations, logPt * scale, consistency * scale);
    }

    /// <summary>The posterior layer's and the cell's gradients (added into <paramref name="gradient"/>) from the cotangent of
    /// q(z₀)'s [μ, logσ²]: backpropagation through time over the encoder's <paramref name="steps"/> steps, last step first.
    /// A row past its <paramref name="readCounts"/> (see <see cref="Encode"/>) kept its state at that step, so its cotangent
    /// passes that step unchanged and adds nothing to the cell's weights.</summary>
    private static void EncoderBackward(T[] theta, T[] inputs, T[] hFinal, T[] gradPost, int B, int steps, Span<T> gradient, int[]? readCounts = null)
    {
        int H = Sizes.RnnHidden, U = Sizes.CellInput;
        var ws = new T[Math.Max(Cell.WorkspaceLength(B), Posterior.WorkspaceLength(B))];
        var dh = new T[B * H];
        Posterior.VectorJacobianProduct<T>(hFinal, theta.AsSpan(PosteriorOffset, Posterior.ParameterCount), gradPost, dh,
            gradient.Slice(PosteriorOffset, Posterior.ParameterCount), B, ws);
        var gradU = new T[B * U];
        var held = readCounts is null ? null : new T[B * H];
        var thetaCell = theta.AsSpan(CellOffset, Cell.ParameterCount);
        var gCell = gradient.Slice(CellOffset, Cell.ParameterCount);
        for (int step = steps - 1; step >= 0; step--)
        {
            if (held is not null)
                for (int b = 0; b < B; b++)
                    if (step >= readCounts![b]) { dh.AsSpan(b * H, H).CopyTo(held.AsSpan(b * H, H)); dh.AsSpan(b * H, H).Clear(); }
            Cell.VectorJacobianProduct<T>(inputs.AsSpan(step * B * U, B * U), thetaCell, dh, gradU, gCell, B, ws);
            for (int b = 0; b < B; b++)
                (held is not null && step >= readCounts![b] ? held.AsSpan(b * H, H) : gradU.AsSpan(b * U + 3, H)).CopyTo(dh.AsSpan(b * H, H));
        }
    }

    /// <summary>
    /// ½ Σ over trajectories of ‖z(t_m) − μ(suffix)‖², m = <paramref name="splits"/>[b] (see <see cref="LossAndGradient"/>);
    /// adds its gradient times <paramref name="weight"/> into <paramref name="gradZ"/> (at each trajectory's m-th observation)
    /// and, through a second pass of the encoder over the suffixes, into the encoder's parameters. The suffixes (n − m
    /// observations each) are left-padded to the longest; each row's encoder stops after its own (<see cref="Encode"/>'s readCounts).
    /// </summary>
    private double ConsistencyTerm(T[] theta, SequenceBatch<T> batch, int[] splits, T[] z, T[] gradZ, Span<T> gradient, T weight)
    {
        int B = batch.Batch, n = batch.Count, L = Sizes.Latent, O = Sizes.Observed, longest = n - splits.Min();
        var x = new T[B * longest * O];
        var t = new T[B * longest];
        var lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            int m = splits[b], k = lengths[b] = n - m, pad = longest - k;
            T t0 = batch.TimeValues[b * n + m];
            for (int i = 0; i < k; i++) t[b * longest + pad + i] = batch.TimeValues[b * n + m + i] - t0;
            batch.X.AsSpan((b * n + m) * O, k * O).CopyTo(x.AsSpan((b * longest + pad) * O));
        }
        var (inputs, hFinal, post) = Encode(theta, x, t, B, longest, longest, lengths);
        var gradPost = new T[post.Length];
        double sum = 0;
        for (int b = 0; b < B; b++)
        {
            int row = batch.Times.Offset(b) + splits[b];
            for (int j = 0; j < L; j++)
            {
                T d = z[row * L + j] - post[b * 2 * L + j];
                sum += 0.5 * double.CreateChecked(d * d);
                gradZ[row * L + j] += weight * d;
                gradPost[b * 2 * L + j] = -weight * d;
            }
        }
        EncoderBackward(theta, inputs, hFinal, gradPost, B, longest, gradient, lengths);
        return sum;
    }

    /// <summary>
    /// Σ over trajectories of Σᵢ log λ(z(tᵢ)) − Λ(T); adds its gradient times <paramref name="scale"/> with respect to the
    /// observed z (into <paramref name="gradZ"/>) and to the intensity's weights (into <paramref name="gradIntensity"/>).
    /// The −Λ(T) part's gradient goes through the solve (<see cref="Spread"/>).
    /// </summary>
    private static double TimesLogLikelihood(T[] theta, T[] z, T[] states, SampleTimes<T> observed, SampleTimes<T> times,
        T[] gradZ, Span<T> gradIntensity, double scale)
    {
        int rows = observed.Count;
        var lambda = new T[rows];
        var ws = new T[Intensity.WorkspaceLength(rows)];
        var thetaIntensity = theta.AsSpan(IntensityOffset, Intensity.ParameterCount);
        Intensity.Forward<T>(z, thetaIntensity, lambda, rows, ws);
        double sum = 0;
        var gradLambda = new T[rows];
        for (int i = 0; i < rows; i++)
        {
            sum += Math.Log(double.CreateChecked(lambda[i]));
            gradLambda[i] = T.CreateChecked(scale / double.CreateChecked(lambda[i]));
        }
        for (int b = 0; b < times.Batch; b++) sum -= double.CreateChecked(states[(times.Offset(b + 1) - 1) * (Sizes.Latent + 1) + Sizes.Latent]);
        var gz = new T[rows * Sizes.Latent];
        Intensity.VectorJacobianProduct<T>(z, thetaIntensity, gradLambda, gz, gradIntensity, rows, ws);
        for (int i = 0; i < gz.Length; i++) gradZ[i] += gz[i];
        return sum;
    }

    /// <summary>The loss cotangents of the [z, Λ] outputs: gradZ at the observations, and d(−scale·(−Λ(T)))/dΛ = scale at each window end.</summary>
    private static T[] Spread(T[] gradZ, T[] states, SampleTimes<T> observed, SampleTimes<T> times, T scale)
    {
        int S = Sizes.Latent + 1;
        var g = new T[states.Length];
        for (int b = 0; b < observed.Batch; b++)
        {
            for (int i = 0; i < observed.Of(b).Length; i++)
                gradZ.AsSpan((observed.Offset(b) + i) * Sizes.Latent, Sizes.Latent).CopyTo(g.AsSpan((times.Offset(b) + i) * S));
            g[(times.Offset(b + 1) - 1) * S + Sizes.Latent] += scale;
        }
        return g;
    }

    /// <summary>Each trajectory's times with the window's end appended (unless it is already its last time).</summary>
    public SampleTimes<T> WithWindowEnd(SampleTimes<T> times)
    {
        var lists = new T[times.Batch][];
        for (int b = 0; b < times.Batch; b++)
        {
            var own = times.Of(b);
            if (own.Length > 0 && own[^1] > WindowEnd)
                throw new ArgumentException($"Trajectory {b} is observed at {own[^1]}, after the window's end {WindowEnd}.", nameof(times));
            lists[b] = own.Length > 0 && own[^1] == WindowEnd ? own.ToArray() : [.. own, WindowEnd];
        }
        return new SampleTimes<T>(times.Start, lists);
    }

    /// <summary>[z₀, Λ = 0] per row.</summary>
    private static T[] Augment(T[] z0)
    {
        int B = z0.Length / Sizes.Latent, S = Sizes.Latent + 1;
        var s = new T[B * S];
        for (int b = 0; b < B; b++) z0.AsSpan(b * Sizes.Latent, Sizes.Latent).CopyTo(s.AsSpan(b * S));
        return s;
    }

    /// <summary>The z part of [count, 5] states.</summary>
    private static T[] Strip(T[] states, int count)
    {
        int S = Sizes.Latent + 1;
        var z = new T[count * Sizes.Latent];
        for (int r = 0; r < count; r++) states.AsSpan(r * S, Sizes.Latent).CopyTo(z.AsSpan(r * Sizes.Latent));
        return z;
    }

    /// <summary>z at the observed times only (the ragged outputs of <paramref name="times"/> may end with the window's end).</summary>
    private static T[] Observed(T[] states, SampleTimes<T> observed, SampleTimes<T> times)
    {
        int S = Sizes.Latent + 1;
        var z = new T[observed.Count * Sizes.Latent];
        for (int b = 0; b < observed.Batch; b++)
            for (int i = 0; i < observed.Of(b).Length; i++)
                states.AsSpan((times.Offset(b) + i) * S, Sizes.Latent).CopyTo(z.AsSpan((observed.Offset(b) + i) * Sizes.Latent));
        return z;
    }

    /// <summary>λ(z(t)) [times.Count] from z₀ (Poisson field only; Figure 7).</summary>
    public T[] IntensityPath(T[] theta, T[] z0, SampleTimes<T> times)
    {
        if (!Poisson) throw new InvalidOperationException($"{typeof(TDyn).Name} has no intensity.");
        var z = LatentPath(theta.AsSpan(FieldOffset, TDyn.ParameterCount).ToArray(), z0, times);
        var lambda = new T[times.Count];
        Intensity.Forward<T>(z, theta.AsSpan(IntensityOffset, Intensity.ParameterCount), lambda, times.Count, new T[Intensity.WorkspaceLength(times.Count)]);
        return lambda;
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

    /// <summary>z(t) [times.Count, 4] from z₀ [batch, 4] at per-trajectory times.</summary>
    public T[] LatentPath(T[] thetaField, T[] z0, SampleTimes<T> times)
    {
        var states = Ode.SolveAtSampleTimes(new DynamicsRhs<TDyn, T>(thetaField, times.Batch), Poisson ? Augment(z0) : z0, times, Options).States;
        return Poisson ? Strip(states, times.Count) : states;
    }
}
