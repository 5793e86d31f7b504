using ILGPU;

namespace OdeDsl.Gpu.Batched;

/// <summary>One dense layer of a <see cref="DeviceNet"/> as the GEMM kernel reads it (offsets into θ; −1: absent).</summary>
internal struct LinearLayer
{
    public int In, Out, Weight, WeightStride, Bias, TimeColumn, Squash, Gate, GateBias, HyperBias;
    /// <summary>The fused activation (a <see cref="DeviceActivation"/>), set at launch.</summary>
    public int Activation;
}

/// <summary>
/// The kernels of the batched path (double). States are [batch, S] row-major on the device, as in the CPU runtime; the
/// stage slots k are [slots, batch·S]. Each kernel covers the whole batch; the host only sequences them and reads back
/// one scalar per step (the error norm's sum of squares).
/// </summary>
internal static class BatchedKernels
{
    /// <summary>The largest tile edge: 16×16 threads per group, one output each (smaller where the accelerator's groups are
    /// smaller: ILGPU's CPU accelerator has 16 threads per group, so 4×4 tiles there).</summary>
    public const int MaxTile = 16;

    /// <summary>The tile edge for an accelerator with at most <paramref name="maxThreadsPerGroup"/> threads per group.</summary>
    public static int TileFor(int maxThreadsPerGroup)
    {
        int tile = MaxTile;
        while (tile > 1 && tile * tile > maxThreadsPerGroup) tile /= 2;
        return tile;
    }

    /// <summary>
    /// output[r, j] = act(s_j·Σ_k x[r, k]·W[j, k] + c_j) for r &lt; rows, j &lt; Out. A group (tile × tile threads, the tile
    /// edge = Group.DimX) computes a tile of rows × outputs, staging tile-wide slices of x and W through shared memory (each
    /// value read from global memory once per tile instead of once per output). Group.X runs over outputs, so neighbouring
    /// threads write neighbouring addresses. The sum runs over k in order, as a dot product does.
    /// </summary>
    public static void Gemm(ArrayView<double> x, ArrayView<double> theta, ArrayView<double> output, LinearLayer layer, int rows, double t)
    {
        var xs = SharedMemory.Allocate<double>(MaxTile * MaxTile);
        var ws = SharedMemory.Allocate<double>(MaxTile * MaxTile);
        int Tile = Group.DimX;
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxX * Tile + ty, col = Grid.IdxY * Tile + tx, wrow = Grid.IdxY * Tile + ty;
        double acc = 0;
        for (int k0 = 0; k0 < layer.In; k0 += Tile)
        {
            int kx = k0 + tx;
            xs[ty * Tile + tx] = row < rows && kx < layer.In ? x[(long)row * layer.In + kx] : 0;
            ws[ty * Tile + tx] = wrow < layer.Out && kx < layer.In ? theta[layer.Weight + (long)wrow * layer.WeightStride + kx] : 0;
            Group.Barrier();
            int kEnd = Math.Min(Tile, layer.In - k0); // the padded zeros are not added: the sum is the plain dot product's
            for (int kk = 0; kk < kEnd; kk++) acc += xs[ty * Tile + kk] * ws[tx * Tile + kk];
            Group.Barrier();
        }
        if (row >= rows || col >= layer.Out) return;
        output[(long)row * layer.Out + col] = Epilogue(acc, theta, layer, col, t);
    }

    /// <summary>
    /// The same product without tiles: one thread per output (r, j), reading x's row and W's row from global memory.
    /// For ILGPU's CPU accelerator, whose group barriers are OS-thread synchronisations (the tiled kernel's two barriers
    /// per tile cost far more there than the loads they save); same sum order, so the same values.
    /// </summary>
    public static void GemmDirect(Index1D i, ArrayView<double> x, ArrayView<double> theta, ArrayView<double> output, LinearLayer layer, double t)
    {
        int row = i / layer.Out, col = i - row * layer.Out;
        double acc = 0;
        long xo = (long)row * layer.In, wo = layer.Weight + (long)col * layer.WeightStride;
        for (int k = 0; k < layer.In; k++) acc += x[xo + k] * theta[wo + k];
        output[i] = Epilogue(acc, theta, layer, col, t);
    }

    /// <summary>act(s_j·acc + c_j): bias, time column and concatsquash terms of output j (see <see cref="DeviceNet"/>).</summary>
    private static double Epilogue(double acc, ArrayView<double> theta, LinearLayer layer, int col, double t)
    {
        double c = layer.Bias >= 0 ? theta[layer.Bias + col] : 0;
        if (layer.TimeColumn != 0) c += t * theta[layer.Weight + (long)col * layer.WeightStride + layer.In];
        double a = acc;
        if (layer.Squash != 0)
        {
            double s = 1 / (1 + Math.Exp(-(theta[layer.Gate + col] * t + theta[layer.GateBias + col])));
            a = s * a;
            c = c * s + theta[layer.HyperBias + col] * t;
        }
        return Activate(layer.Activation, a + c);
    }

    /// <summary>dst[i] = act(src[i]) (an element-wise function not preceded by a Linear layer).</summary>
    public static void Elementwise(Index1D i, ArrayView<double> src, ArrayView<double> dst, int activation) => dst[i] = Activate(activation, src[i]);

    public static double Activate(int activation, double x)
    {
        switch (activation)
        {
            case (int)DeviceActivation.Tanh: return Math.Tanh(x);
            case (int)DeviceActivation.Sigmoid: return 1 / (1 + Math.Exp(-x));
            case (int)DeviceActivation.Softplus: return Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));
            case (int)DeviceActivation.Elu: return x > 0 ? x : Math.Exp(x) - 1;
            case (int)DeviceActivation.Relu: return Math.Max(x, 0);
            case (int)DeviceActivation.Cube: return x * x * x;
            default: return x;
        }
    }

    /// <summary>
    /// dst[i] = y[i] + Σ_j (scale·w[wOffset + j])·k[j·n + i] over j &lt; count, skipping zero weights: the CPU runtime's
    /// stage combination (StageCombination.Combine with coefficients h·w). scale is h for tableau rows and 1 for
    /// interpolation coefficients the host already multiplied by h.
    /// </summary>
    public static void Combine(Index1D i, ArrayView<double> y, ArrayView<double> k, ArrayView<double> w, int wOffset, int count, double scale,
        ArrayView<double> dst, int n)
    {
        double acc = y[i];
        for (int j = 0; j < count; j++)
        {
            double wj = w[wOffset + j];
            if (wj != 0) acc += scale * wj * k[(long)j * n + i];
        }
        dst[i] = acc;
    }

    /// <summary>
    /// The squared scaled error of one element, for the RMS norm over the whole batch (shared steps):
    /// e = Σ_j (h·E_j)·k_j, squares[i] = (e / (atol + rtol·max(|y|, |yNew|)))², or +∞ where that square or yNew is not
    /// finite, so the reduced sum is finite exactly when the CPU's finiteness check passes. (+∞ rather than NaN: ILGPU's
    /// CPU accelerator adds doubles atomically with a compare-and-swap loop that never ends on NaN, since NaN ≠ NaN.)
    /// Without an error estimate (fixed-step methods) only the finiteness of yNew is written (0 or +∞).
    /// </summary>
    public static void ErrorSquares(Index1D i, ArrayView<double> y, ArrayView<double> yNew, ArrayView<double> k, ArrayView<double> w, int wOffset,
        int count, double h, double atol, double rtol, ArrayView<double> squares, int n)
    {
        double yn = yNew[i];
        bool finite = yn - yn == 0; // false for ±∞ and NaN
        if (count == 0) { squares[i] = finite ? 0 : double.PositiveInfinity; return; }
        double e = 0;
        for (int j = 0; j < count; j++)
        {
            double wj = w[wOffset + j];
            if (wj != 0) e += h * wj * k[(long)j * n + i];
        }
        double v = e / (atol + rtol * Math.Max(Math.Abs(y[i]), Math.Abs(yn)));
        double sq = v * v;
        squares[i] = finite && sq - sq == 0 ? sq : double.PositiveInfinity;
    }

    /// <summary>Initial-step selection's norms (Hairer, Nørsett &amp; Wanner I, II.4): squares[i] = ((a − b) / (atol + |y0|·rtol))²,
    /// b ignored when subtract is 0; +∞ where not finite (see <see cref="ErrorSquares"/>).</summary>
    public static void InitialSquares(Index1D i, ArrayView<double> y0, ArrayView<double> a, ArrayView<double> b, int subtract, double atol, double rtol,
        ArrayView<double> squares)
    {
        double sc = atol + Math.Abs(y0[i]) * rtol;
        double v = (subtract != 0 ? a[i] - b[i] : a[i]) / sc;
        double sq = v * v;
        squares[i] = sq - sq == 0 ? sq : double.PositiveInfinity;
    }
}
