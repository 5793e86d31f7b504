using System.Numerics;

namespace OdeDsl.Training;

/// <summary>
/// Softmax cross-entropy over logits [batch, classes] with integer labels, averaged over the batch (PyTorch's
/// nn.CrossEntropyLoss with reduction 'mean'). Computed with the max subtracted, so large logits do not overflow.
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>
    /// Returns the mean loss, writes dL/dlogits = (softmax − onehot)/batch to <paramref name="gradient"/> (when not empty)
    /// and counts the rows whose arg-max equals the label in <paramref name="correct"/>.
    /// </summary>
    public static double Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<byte> labels, int classes, Span<T> gradient, out int correct)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        int batch = labels.Length;
        if (batch == 0) throw new ArgumentException("The batch is empty.", nameof(labels));
        if (logits.Length != batch * classes)
            throw new ArgumentException($"logits has {logits.Length} elements; {batch} labels × {classes} classes need {batch * classes}.", nameof(logits));
        if (!gradient.IsEmpty && gradient.Length != logits.Length)
            throw new ArgumentException($"gradient has {gradient.Length} elements, logits {logits.Length}.", nameof(gradient));
        double total = 0;
        correct = 0;
        double invBatch = 1.0 / batch;
        for (int b = 0; b < batch; b++)
        {
            int label = labels[b];
            if (label >= classes) throw new ArgumentOutOfRangeException(nameof(labels), label, $"label {b} is outside [0, {classes}).");
            var row = logits.Slice(b * classes, classes);
            int arg = 0;
            double max = double.CreateChecked(row[0]);
            for (int k = 1; k < classes; k++)
            {
                double v = double.CreateChecked(row[k]);
                if (v > max) { max = v; arg = k; }
            }
            if (double.IsNaN(max)) { total = double.NaN; continue; }
            if (arg == label) correct++;
            double sum = 0;
            for (int k = 0; k < classes; k++) sum += Math.Exp(double.CreateChecked(row[k]) - max);
            double logSum = Math.Log(sum);
            total += logSum - (double.CreateChecked(row[label]) - max);
            if (gradient.IsEmpty) continue;
            var g = gradient.Slice(b * classes, classes);
            for (int k = 0; k < classes; k++)
            {
                double p = Math.Exp(double.CreateChecked(row[k]) - max - logSum);
                g[k] = T.CreateChecked((p - (k == label ? 1 : 0)) * invBatch);
            }
        }
        return total * invBatch;
    }
}
