using System.Numerics;
using OdeDsl.Models;
using Cell = LatentOde.Networks.CellFunction;
using Head = LatentOde.Networks.PredictFunction;

namespace LatentOde;

/// <summary>
/// The RNN baseline (25 hidden units, the same cell as the encoder): run forwards over the observations, it predicts each
/// observation from the hidden state and the time gap to it, x̂ᵢ = W·[hᵢ₋₁, tᵢ − tᵢ₋₁] + b, then reads it,
/// hᵢ = tanh(W'·[xᵢ, tᵢ − tᵢ₋₁, hᵢ₋₁] + b'). Trained by teacher forcing with the same Gaussian likelihood (σ = noise_std);
/// it extrapolates by feeding its own predictions back. θ = [cell | head].
/// </summary>
public sealed class RnnBaseline<T>(double noiseStd) where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int HeadOffset => Cell.ParameterCount;
    public static int ParameterCount => HeadOffset + Head.ParameterCount;
    private const int H = Sizes.RnnHidden, U = Sizes.CellInput, V = Sizes.RnnHidden + 1;

    public double NoiseStd { get; } = noiseStd;

    public static T[] Initialize(int seed) => [.. Cell.Layout.Initialize<T>(seed), .. Head.Layout.Initialize<T>(seed + 1)];

    /// <summary>−log p of the observations (mean over the batch) and its gradient into <paramref name="gradient"/> (overwritten).</summary>
    public StepReport LossAndGradient(T[] theta, SequenceBatch<T> batch, Span<T> gradient)
    {
        if (theta.Length != ParameterCount) throw new ArgumentException($"θ needs {ParameterCount} values; it has {theta.Length}.", nameof(theta));
        if (gradient.Length != ParameterCount) throw new ArgumentException($"The gradient needs {ParameterCount} values.", nameof(gradient));
        int B = batch.Batch, n = batch.Count;
        gradient.Clear();
        var thetaCell = theta.AsSpan(0, Cell.ParameterCount);
        var thetaHead = theta.AsSpan(HeadOffset, Head.ParameterCount);
        var cellIn = new T[n * B * U];
        var headIn = new T[n * B * V];
        var pred = new T[n * B * 2];
        var h = new T[B * H];
        var ws = new T[Math.Max(Cell.WorkspaceLength(B), Head.WorkspaceLength(B))];
        var x = new T[n * B * 2]; // observations step-major, as the predictions
        for (int i = 0; i < n; i++)
        {
            var v = headIn.AsSpan(i * B * V, B * V);
            var u = cellIn.AsSpan(i * B * U, B * U);
            for (int b = 0; b < B; b++)
            {
                T gap = batch.TimeValues[b * n + i] - (i == 0 ? T.Zero : batch.TimeValues[b * n + i - 1]);
                h.AsSpan(b * H, H).CopyTo(v.Slice(b * V, H));
                v[b * V + H] = gap;
                x[(i * B + b) * 2] = batch.X[(b * n + i) * 2]; x[(i * B + b) * 2 + 1] = batch.X[(b * n + i) * 2 + 1];
                u[b * U] = x[(i * B + b) * 2]; u[b * U + 1] = x[(i * B + b) * 2 + 1]; u[b * U + 2] = gap;
                h.AsSpan(b * H, H).CopyTo(u.Slice(b * U + 3, H));
            }
            Head.Forward<T>(v, thetaHead, pred.AsSpan(i * B * 2, B * 2), B, ws);
            Cell.Forward<T>(u, thetaCell, h, B, ws);
        }
        double scale = 1.0 / B;
        var gradPred = new T[pred.Length];
        double logP = GaussianElbo.LogLikelihood<T>(x, pred, NoiseStd, gradPred, -scale);

        // Backpropagation through time: hᵢ₋₁ feeds the head at i and the cell at i.
        var dh = new T[B * H];
        var gradU = new T[B * U];
        var gradV = new T[B * V];
        var gCell = gradient.Slice(0, Cell.ParameterCount);
        var gHead = gradient.Slice(HeadOffset, Head.ParameterCount);
        for (int i = n - 1; i >= 0; i--)
        {
            Cell.VectorJacobianProduct<T>(cellIn.AsSpan(i * B * U, B * U), thetaCell, dh, gradU, gCell, B, ws);
            Head.VectorJacobianProduct<T>(headIn.AsSpan(i * B * V, B * V), thetaHead, gradPred.AsSpan(i * B * 2, B * 2), gradV, gHead, B, ws);
            for (int b = 0; b < B; b++)
                for (int k = 0; k < H; k++) dh[b * H + k] = gradU[b * U + 3 + k] + gradV[b * V + k];
        }
        return new StepReport(-logP * scale, logP * scale, 0, 0, 0);
    }

    /// <summary>
    /// Predictions at every time of <paramref name="grid"/> (increasing, the same for every trajectory): the head's output from
    /// the hidden state after reading the observations strictly before that time, with the gap since the last of them, so an
    /// observed point is predicted before it is read. [batch, grid, 2]. (Rows run one at a time: their observation times differ.)
    /// </summary>
    public T[] PredictGrid(T[] theta, SequenceBatch<T> batch, ReadOnlySpan<T> grid)
    {
        int B = batch.Batch, n = batch.Count, m = grid.Length;
        var thetaCell = theta.AsSpan(0, Cell.ParameterCount);
        var thetaHead = theta.AsSpan(HeadOffset, Head.ParameterCount);
        var h = new T[H]; var u = new T[U]; var v = new T[V]; var p = new T[2];
        var ws = new T[Math.Max(Cell.WorkspaceLength(1), Head.WorkspaceLength(1))];
        var result = new T[B * m * 2];
        for (int b = 0; b < B; b++)
        {
            Array.Clear(h);
            T last = T.Zero;
            int read = 0;
            for (int j = 0; j < m; j++)
            {
                for (; read < n && batch.TimeValues[b * n + read] < grid[j]; read++)
                {
                    T t = batch.TimeValues[b * n + read];
                    u[0] = batch.X[(b * n + read) * 2]; u[1] = batch.X[(b * n + read) * 2 + 1]; u[2] = t - last;
                    h.CopyTo(u.AsSpan(3));
                    Cell.Forward<T>(u, thetaCell, h, 1, ws);
                    last = t;
                }
                h.CopyTo(v.AsSpan());
                v[H] = grid[j] - last;
                Head.Forward<T>(v, thetaHead, p, 1, ws);
                result[(b * m + j) * 2] = p[0]; result[(b * m + j) * 2 + 1] = p[1];
            }
        }
        return result;
    }

    /// <summary>
    /// Reads all observations, then predicts at <paramref name="targets"/> (the same increasing times for every trajectory,
    /// after the last observation), feeding each prediction back: [batch, targets, 2].
    /// </summary>
    public T[] Extrapolate(T[] theta, SequenceBatch<T> batch, ReadOnlySpan<T> targets)
    {
        int B = batch.Batch, n = batch.Count, m = targets.Length;
        var thetaCell = theta.AsSpan(0, Cell.ParameterCount);
        var thetaHead = theta.AsSpan(HeadOffset, Head.ParameterCount);
        var h = new T[B * H];
        var u = new T[B * U];
        var v = new T[B * V];
        var p = new T[B * 2];
        var last = new T[B];
        var ws = new T[Math.Max(Cell.WorkspaceLength(B), Head.WorkspaceLength(B))];
        for (int i = 0; i < n; i++)
        {
            for (int b = 0; b < B; b++)
            {
                T t = batch.TimeValues[b * n + i];
                u[b * U] = batch.X[(b * n + i) * 2]; u[b * U + 1] = batch.X[(b * n + i) * 2 + 1]; u[b * U + 2] = t - last[b];
                h.AsSpan(b * H, H).CopyTo(u.AsSpan(b * U + 3, H));
                last[b] = t;
            }
            Cell.Forward<T>(u, thetaCell, h, B, ws);
        }
        var result = new T[B * m * 2];
        for (int j = 0; j < m; j++)
        {
            for (int b = 0; b < B; b++)
            {
                h.AsSpan(b * H, H).CopyTo(v.AsSpan(b * V, H));
                v[b * V + H] = targets[j] - last[b];
            }
            Head.Forward<T>(v, thetaHead, p, B, ws);
            for (int b = 0; b < B; b++)
            {
                T gap = targets[j] - last[b];
                result[(b * m + j) * 2] = p[b * 2]; result[(b * m + j) * 2 + 1] = p[b * 2 + 1];
                u[b * U] = p[b * 2]; u[b * U + 1] = p[b * 2 + 1]; u[b * U + 2] = gap;
                h.AsSpan(b * H, H).CopyTo(u.AsSpan(b * U + 3, H));
                last[b] = targets[j];
            }
            Cell.Forward<T>(u, thetaCell, h, B, ws);
        }
        return result;
    }
}
