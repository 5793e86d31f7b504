namespace OdeDsl;

// Eager reference implementations of the convolutional primitives, written as plain loops (independent of the
// OdeDsl.Tensors kernels that generated code calls, so that the differential tests compare two implementations).
public static partial class Ops
{
    public static Tensor Relu(Tensor x) => x.Map(Relu);
    public static Tensor Tanh(Tensor x) => x.Map(Tanh);
    public static Tensor Sigmoid(Tensor x) => x.Map(Sigmoid);
    public static Tensor Softplus(Tensor x) => x.Map(Softplus);
    public static Tensor Exp(Tensor x) => x.Map(Exp);
    public static Tensor Square(Tensor x) => x.Map(Square);

    public static float Sum(Tensor x)
    {
        float s = 0;
        foreach (float v in x.AsSpan()) s += v;
        return s;
    }

    public static float Mean(Tensor x) => Sum(x) / x.Length;

    /// <summary>
    /// 2-D cross-correlation of x [Cin, H, W] with kernel [Cout, Cin, kh, kw] plus a per-channel bias, zero padding,
    /// PyTorch's <c>nn.Conv2d</c> semantics.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor kernel, Vec bias, int stride = 1, int padding = 0)
    {
        var xs = x.ShapeArray;
        var ks = kernel.ShapeArray;
        if (xs.Length != 3 || ks.Length != 4 || ks[1] != xs[0] || bias.Length != ks[0])
            throw new ArgumentException("Conv2d needs x [Cin, H, W], kernel [Cout, Cin, kh, kw] and bias [Cout].");
        int cin = xs[0], h = xs[1], w = xs[2], cout = ks[0], kh = ks[2], kw = ks[3];
        int oh = (h + 2 * padding - kh) / stride + 1, ow = (w + 2 * padding - kw) / stride + 1;
        var y = new float[cout * oh * ow];
        var xd = x.Data;
        var kd = kernel.Data;
        for (int co = 0; co < cout; co++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    float s = bias[co];
                    for (int ci = 0; ci < cin; ci++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++)
                            {
                                int r = i * stride - padding + u, c = j * stride - padding + v;
                                if (r >= 0 && r < h && c >= 0 && c < w)
                                    s += kd[((co * cin + ci) * kh + u) * kw + v] * xd[(ci * h + r) * w + c];
                            }
                    y[(co * oh + i) * ow + j] = s;
                }
        return new Tensor([cout, oh, ow], y);
    }

    /// <summary>Group normalisation of x [C, H, W] (PyTorch's <c>nn.GroupNorm</c>, eps = 1e-5), per-channel scale and shift.</summary>
    public static Tensor GroupNorm(Tensor x, int groups, Vec gamma, Vec beta)
    {
        var xs = x.ShapeArray;
        int c = xs[0], spatial = x.Length / c, per = c / groups * spatial;
        if (c % groups != 0 || gamma.Length != c || beta.Length != c)
            throw new ArgumentException($"GroupNorm: {c} channels, {groups} groups, γ {gamma.Length}, β {beta.Length}.");
        var y = new float[x.Length];
        var xd = x.Data;
        for (int g = 0; g < groups; g++)
        {
            double mean = 0, var = 0;
            for (int k = 0; k < per; k++) mean += xd[g * per + k];
            mean /= per;
            for (int k = 0; k < per; k++) var += (xd[g * per + k] - mean) * (xd[g * per + k] - mean);
            var /= per;
            double rstd = 1 / Math.Sqrt(var + 1e-5);
            for (int k = 0; k < per; k++)
            {
                int ch = (g * per + k) / spatial;
                y[g * per + k] = (float)((xd[g * per + k] - mean) * rstd * gamma[ch] + beta[ch]);
            }
        }
        return new Tensor(xs, y);
    }

    /// <summary>Appends one channel filled with t: [C, H, W] → [C + 1, H, W] (time as an input of a convolution).</summary>
    public static Tensor ConcatChannel(Tensor x, float t)
    {
        var xs = x.ShapeArray;
        int spatial = x.Length / xs[0];
        var y = new float[x.Length + spatial];
        x.AsSpan().CopyTo(y);
        y.AsSpan(x.Length).Fill(t);
        return new Tensor([xs[0] + 1, .. xs[1..]], y);
    }
}

public static partial class Ops
{
    /// <summary>Average pooling of x [C, H, W] over k×k windows with the given stride (default k), no padding.</summary>
    public static Tensor AvgPool(Tensor x, int kernel, int stride = 0)
    {
        if (stride == 0) stride = kernel;
        var xs = x.ShapeArray;
        int c = xs[0], h = xs[1], w = xs[2], oh = (h - kernel) / stride + 1, ow = (w - kernel) / stride + 1;
        var y = new float[c * oh * ow];
        var xd = x.Data;
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    float s = 0;
                    for (int u = 0; u < kernel; u++)
                        for (int v = 0; v < kernel; v++) s += xd[(ch * h + i * stride + u) * w + j * stride + v];
                    y[(ch * oh + i) * ow + j] = s / (kernel * kernel);
                }
        return new Tensor([c, oh, ow], y);
    }

    /// <summary>The mean of each channel of x [C, ...]: adaptive average pooling to 1×1, as a vector.</summary>
    public static Vec GlobalAvgPool(Tensor x)
    {
        int c = x.ShapeArray[0], spatial = x.Length / c;
        var y = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            float s = 0;
            for (int k = 0; k < spatial; k++) s += x.Data[ch * spatial + k];
            y[ch] = s / spatial;
        }
        return new Vec(y);
    }
}
