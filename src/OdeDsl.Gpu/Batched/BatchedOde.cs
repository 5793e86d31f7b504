using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;
using ILGPU.Runtime;

namespace OdeDsl.Gpu.Batched;

/// <summary>
/// The batched GPU path for fields dominated by matrix products (a <see cref="DeviceNet"/>: the spiral MLP, CNF MLP
/// fields): the whole batch shares one step sequence, as the CPU runtime's <see cref="BatchStepMode.Shared"/> mode
/// (torchdiffeq's behaviour), and every stage is a few kernels over the whole batch: per layer one tiled matrix product
/// with its bias and activation fused in, then the stage combination; per step one error kernel and a device reduction
/// whose sum is the only value read back. The host runs the step-size control on that scalar with the CPU runtime's
/// own code (the same controller objects), so the steps, counts and states are those of
/// <c>Ode.Solve(rhs, y0, times, options)</c> with <see cref="BatchStepMode.Shared"/>.
/// <para>Supported: explicit Runge–Kutta methods without extra dense stages (dopri5, tsit5, bosh3, rk4, euler, …),
/// scalar tolerances and the RMS norm, any <see cref="StepSizeController"/>, outputs at times or the final state only.
/// Not supported (an exception says so): per-sample steps (use <see cref="GpuOde"/>), events, per-component tolerances,
/// custom norms, recorded steps or kept dense output, overshooting the final time, ThrowOnFailure.
/// A non-finite state anywhere in the batch rejects the step for the whole batch (h·0.2, at most 10 times, then every
/// row ends with NonFiniteState), as the CPU's shared mode does whenever the batch's error norm is not finite. One
/// difference: with a fixed-step method (no error norm) the CPU stops only the rows that turned non-finite and carries
/// on with the others, where the batched path stops the whole batch.</para>
/// </summary>
public static class BatchedOde
{
    /// <summary>Which matrix-product kernel the layers use.</summary>
    public enum Gemm
    {
        /// <summary>Tiled on GPUs, direct on ILGPU's CPU accelerator.</summary>
        Auto,
        /// <summary>Shared-memory tiles (tile × tile outputs per group, two barriers per tile).</summary>
        Tiled,
        /// <summary>One thread per output, no shared memory.</summary>
        Direct,
    }

    /// <summary>Integrates every row of <paramref name="y0"/> ([B, S]) through <paramref name="times"/> with one shared step
    /// sequence; <paramref name="theta"/> is the field's θ (shared by all rows).</summary>
    public static Solution<double> Solve(Accelerator accelerator, DeviceNet net, double[] y0, double[] theta, double[] times,
        SolveOptions<double>? options = null, Gemm gemm = Gemm.Auto)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(net);
        var o = options ?? new SolveOptions<double>();
        var tab = Validate(net, y0, theta, times, o);
        bool tiled = gemm == Gemm.Tiled || (gemm == Gemm.Auto && accelerator.AcceleratorType != AcceleratorType.CPU);
        using var run = new Run(accelerator, Kernels.For(accelerator), net, tab, y0, theta, times, o, tiled);
        return run.Integrate();
    }

    private static ButcherTableau Validate(DeviceNet net, double[] y0, double[] theta, double[] times, SolveOptions<double> o)
    {
        ArgumentNullException.ThrowIfNull(y0);
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(times);
        net.Validate();
        int S = net.StateSize;
        if (y0.Length == 0 || y0.Length % S != 0)
            throw new ArgumentException($"y0 has {y0.Length} elements, not a positive multiple of the net's StateSize {S} ([B, StateSize] row-major).", nameof(y0));
        if (theta.Length != net.ParameterCount)
            throw new ArgumentException($"theta has {theta.Length} elements; the net was described over {net.ParameterCount} (one θ shared by the batch: the batched path multiplies the whole batch by the same weights).", nameof(theta));
        if (times.Length < 2) throw new ArgumentException($"times needs at least 2 entries (start and end); it has {times.Length}.", nameof(times));
        int dir = times[1].CompareTo(times[0]);
        for (int i = 0; i < times.Length; i++)
        {
            if (!double.IsFinite(times[i])) throw new ArgumentException($"times[{i}] is not finite.", nameof(times));
            if (dir == 0 || (i > 0 && times[i].CompareTo(times[i - 1]) != dir))
                throw new ArgumentException($"times must be strictly monotonic; times[{Math.Max(i, 1)}] breaks it.", nameof(times));
        }
        foreach (var v in y0) if (!double.IsFinite(v)) throw new ArgumentException("y0 contains a non-finite value.", nameof(y0));
        if (o.Method is not RungeKuttaMethod rk)
            throw new ArgumentException($"Method {o.Method.Name} is not an explicit Runge–Kutta method; the batched path runs those (dopri5, tsit5, rk4, …).", "options");
        var tab = rk.Tableau;
        string? unsupported =
            tab.DenseC.Length > 0 ? $"method {tab.Name} (its interpolant needs extra stages; use dopri5 or tsit5)"
            : o.StepMode != BatchStepMode.Shared ? "BatchStepMode.PerSample (per-trajectory steps: use GpuOde.Solve, the fused per-trajectory kernel)"
            : o.Events is { Count: > 0 } ? "events"
            : o.RelTolPerComponent is not null || o.AbsTolPerComponent is not null ? "per-component tolerances"
            : o.Norm is not null ? "a custom error norm"
            : o.RecordSteps || o.KeepDenseOutput ? "RecordSteps / KeepDenseOutput"
            : o.OvershootFinalTime ? "OvershootFinalTime"
            : o.ThrowOnFailure ? "ThrowOnFailure (read Solution.Status)"
            : null;
        if (unsupported is not null) throw new ArgumentException($"The batched GPU path does not support {unsupported}.", "options");
        if (!tab.IsAdaptive && (o.FixedStep is not { } fs || !(fs > 0)))
            throw new ArgumentException($"Method {tab.Name} is fixed-step: set SolveOptions.FixedStep to a positive step.", "options");
        if (!(o.RelTol >= 0) || !(o.AbsTol >= 0) || o.RelTol + o.AbsTol <= 0)
            throw new ArgumentException($"Tolerances must be non-negative and not both zero (rtol {o.RelTol}, atol {o.AbsTol}).", "options");
        if (o.MaxSteps <= 0) throw new ArgumentException($"MaxSteps must be positive; it is {o.MaxSteps}.", "options");
        return tab;
    }

    /// <summary>The loaded kernels of one accelerator (ILGPU compiles each once per accelerator).</summary>
    internal sealed class Kernels
    {
        private static readonly ConditionalWeakTable<Accelerator, Kernels> s_cache = [];

        public required Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, LinearLayer, int, double> Gemm { get; init; }
        public required Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, LinearLayer, double> GemmDirect { get; init; }
        public required Action<Index1D, ArrayView<double>, ArrayView<double>, int> Elementwise { get; init; }
        public required Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, double, ArrayView<double>, int> Combine { get; init; }
        public required Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, double, double, double, ArrayView<double>, int> ErrorSquares { get; init; }
        public required Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, double, double, ArrayView<double>> InitialSquares { get; init; }

        public static Kernels For(Accelerator a)
        {
            lock (s_cache)
                return s_cache.GetValue(a, acc => new Kernels
                {
                    Gemm = acc.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, LinearLayer, int, double>(BatchedKernels.Gemm),
                    GemmDirect = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, LinearLayer, double>(BatchedKernels.GemmDirect),
                    Elementwise = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<double>, int>(BatchedKernels.Elementwise),
                    Combine = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, double, ArrayView<double>, int>(BatchedKernels.Combine),
                    ErrorSquares = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, double, double, double, ArrayView<double>, int>(BatchedKernels.ErrorSquares),
                    InitialSquares = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, double, double, ArrayView<double>>(BatchedKernels.InitialSquares),
                });
        }
    }

    /// <summary>One solve: the device buffers and the host-side step control (mirrors RungeKuttaSolver's lockstep path).</summary>
    private sealed class Run : IDisposable
    {
        private readonly Accelerator _acc;
        private readonly Kernels _k;
        private readonly DeviceNet _net;
        private readonly ButcherTableau _tab;
        private readonly SolveOptions<double> _o;
        private readonly double[] _times;
        private readonly int _S, _B, _n, _s, _slots, _tile;
        private readonly bool _tiled;
        private readonly List<MemoryBuffer> _owned = [];
        private readonly ArrayView<double> _theta, _coef, _interp, _stage, _k0, _squares, _states, _act0, _act1;
        private ArrayView<double> _y, _yNew;
        // offsets of the tableau rows in _coef: A row i at i·s, then B, then the error weights
        private readonly int _bRow, _eRow;

        public Run(Accelerator acc, Kernels kernels, DeviceNet net, ButcherTableau tab, double[] y0, double[] theta, double[] times, SolveOptions<double> o, bool tiled)
        {
            _tiled = tiled;
            _acc = acc; _k = kernels; _net = net; _tab = tab; _o = o; _times = times;
            _tile = BatchedKernels.TileFor(acc.MaxNumThreadsPerGroup);
            _S = net.StateSize; _n = y0.Length; _B = _n / _S; _s = tab.Stages; _slots = tab.DenseSlots;
            var coef = new double[_s * _s + 2 * _s];
            for (int i = 0; i < _s; i++)
                for (int j = 0; j < i; j++) coef[i * _s + j] = tab.A[i][j];
            _bRow = _s * _s; _eRow = _bRow + _s;
            tab.B.CopyTo(coef, _bRow);
            tab.BError?.CopyTo(coef, _eRow);
            _coef = Upload(coef);
            _interp = Allocate(_slots);
            _theta = Upload(theta.Length == 0 ? new double[1] : theta);
            _y = Upload(y0);
            _yNew = Allocate(_n);
            _stage = Allocate(_n);
            _k0 = Allocate((long)_slots * _n);
            _squares = Allocate(_n);
            long act = (long)_B * net.MaxWidth;
            _act0 = Allocate(act);
            _act1 = Allocate(act);
            _states = Allocate((long)(o.Output == OutputMode.FinalOnly ? 1 : times.Length) * _n);
        }

        private ArrayView<double> Upload(double[] data)
        {
            var b = _acc.Allocate1D(data);
            _owned.Add(b);
            return b.View;
        }

        private ArrayView<double> Allocate(long length)
        {
            var b = _acc.Allocate1D<double>(Math.Max(length, 1));
            _owned.Add(b);
            return b.View;
        }

        public void Dispose()
        {
            foreach (var b in _owned) b.Dispose();
        }

        private ArrayView<double> K(int slot) => _k0.SubView((long)slot * _n, _n);

        /// <summary>dst = f(t, src) for the whole batch: the net's layers, the activations fused into the GEMMs.</summary>
        private void Eval(double t, ArrayView<double> src, ArrayView<double> dst)
        {
            var ops = _net.Ops;
            var cur = src;
            int ping = 0; // the hidden values alternate between _act0 and _act1
            for (int i = 0; i < ops.Count; i++)
            {
                var op = ops[i];
                var outBuf = i == ops.Count - 1 ? dst : (ping++ & 1) == 0 ? _act0 : _act1;
                if (op.Layer is { } layer)
                {
                    layer.Activation = (int)op.Activation;
                    if (_tiled)
                    {
                        int tile = _tile;
                        var grid = new Index2D((_B + tile - 1) / tile, (layer.Out + tile - 1) / tile);
                        _k.Gemm(new KernelConfig(grid, new Index2D(tile, tile)), cur, _theta, outBuf, layer, _B, t);
                    }
                    else _k.GemmDirect(_B * layer.Out, cur, _theta, outBuf, layer, t);
                    cur = outBuf.SubView(0, (long)_B * layer.Out);
                }
                else
                {
                    int width = (int)(cur.Length / _B);
                    _k.Elementwise((int)cur.Length, cur, outBuf.SubView(0, cur.Length), (int)op.Activation);
                    cur = outBuf.SubView(0, (long)_B * width);
                }
            }
        }

        private double Sum() => _acc.Reduce<double, AddDouble>(_acc.DefaultStream, _squares);

        private double Rms() => Math.Sqrt(Sum() / _n);

        public Solution<double> Integrate()
        {
            var o = _o;
            bool adaptive = _tab.IsAdaptive, fsal = _tab.Fsal, finalOnly = o.Output == OutputMode.FinalOnly;
            int s = _s, fEnd = fsal ? s - 1 : s, nOut = _times.Length;
            double t0 = _times[0], tEnd = _times[^1], dir = tEnd > t0 ? 1 : -1;
            double atol = o.AbsTol, rtol = o.RelTol;
            var controller = o.Controller ?? StepSizeController.I;
            long nfe = 0, acc = 0, rej = 0, attempts = 0;
            int outIdx = 1, nonFiniteStreak = 0;
            var status = SolveStatus.Success;
            bool done = false;
            if (!finalOnly) _y.CopyTo(_states.SubView(0, _n));

            // f0, then the first step as RungeKuttaSolver.SelectInitialStep does it in shared mode (one group over all rows).
            Eval(t0, _y, K(0)); nfe++;
            double span = Math.Abs(tEnd - t0), h;
            if (!adaptive) h = o.FixedStep!.Value * dir;
            else if (o.FirstStep is { } fs) h = Math.Min(fs, span) * dir;
            else
            {
                _k.InitialSquares(_n, _y, _y, _y, 0, atol, rtol, _squares);
                double d0 = Rms();
                _k.InitialSquares(_n, _y, K(0), K(0), 0, atol, rtol, _squares);
                double d1 = Rms();
                double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
                h0 = Math.Min(h0, span);
                double ht = h0 * dir;
                _interp.SubView(0, 1).CopyFromCPU([1.0]);
                _k.Combine(_n, _y, K(0), _interp, 0, 1, ht, _stage, _n);
                Eval(t0 + ht, _stage, K(s)); nfe++;
                _k.InitialSquares(_n, _y, K(s), K(0), 1, atol, rtol, _squares);
                double d2 = Rms() / h0;
                double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / Math.Max(d1, d2), 1.0 / _tab.Order);
                h = Math.Min(100 * h0, h1) * dir;
            }
            h = dir * Math.Min(Math.Abs(h), o.MaxStep);
            double t = t0, hs = h, prevRatio = 1;

            while (!done)
            {
                if (attempts >= o.MaxSteps) { status = SolveStatus.MaxStepsReached; break; }
                attempts++;
                double rest = tEnd - t;
                hs = Math.Abs(h) >= Math.Abs(rest) ? rest : h;
                for (int i = 1; i < s; i++)
                {
                    _k.Combine(_n, _y, _k0, _coef, i * s, i, hs, _stage, _n);
                    Eval(t + _tab.C[i] * hs, _stage, K(i)); nfe++;
                }
                _k.Combine(_n, _y, _k0, _coef, _bRow, s, hs, _yNew, _n);
                _k.ErrorSquares(_n, _y, _yNew, _k0, _coef, _eRow, adaptive ? s : 0, hs, atol, rtol, _squares, _n);
                double sum = Sum();
                double ratio = adaptive ? Math.Sqrt(sum / _n) : 0;
                if (!double.IsFinite(sum) || !double.IsFinite(ratio))
                {
                    // the CPU's row-wise path: every row sees the batch's non-finite norm and rejects
                    rej++;
                    if (!adaptive || ++nonFiniteStreak > 10) { status = SolveStatus.NonFiniteState; break; }
                    h = hs * 0.2;
                    if (Math.Abs(h) < o.MinStep || t + h == t) { status = SolveStatus.NonFiniteState; break; }
                    continue;
                }
                nonFiniteStreak = 0;
                bool ok = !adaptive || ratio <= 1;
                if (ok)
                {
                    acc++;
                    double tNew = Math.Abs(hs) >= Math.Abs(tEnd - t) ? tEnd : t + hs;
                    if (!fsal) { Eval(tNew, _yNew, K(s)); nfe++; }
                    if (!finalOnly) outIdx = EmitOutputs(outIdx, t, hs, tNew);
                    (_y, _yNew) = (_yNew, _y);
                    K(fEnd).CopyTo(K(0));
                    t = tNew;
                    if (tNew == tEnd) { status = SolveStatus.Success; done = true; continue; }
                }
                else rej++;
                if (!adaptive) continue;
                double f = controller.Factor(ratio, prevRatio, _tab.Order, ok);
                if (ok) prevRatio = ratio;
                double hn = hs * f;
                if (Math.Abs(hn) > o.MaxStep) hn = dir * o.MaxStep;
                h = hn;
                if (Math.Abs(hn) < o.MinStep || t + hn == t) { status = SolveStatus.StepSizeUnderflow; break; }
            }

            if (finalOnly) _y.CopyTo(_states.SubView(0, _n));
            _acc.Synchronize();
            var states = _states.GetAsArray();
            if (!finalOnly) states.AsSpan(outIdx * _n).Fill(double.NaN); // outputs never reached
            var rows = new SolverStats(nfe, acc, rej);
            return new Solution<double>
            {
                Batch = _B, StateSize = _S, Times = finalOnly ? [tEnd] : _times.ToArray(), States = states,
                Status = Enumerable.Repeat(status, _B).ToArray(),
                OutputsReached = Enumerable.Repeat(finalOnly ? (status == SolveStatus.Success ? 1 : 0) : outIdx, _B).ToArray(),
                FinalTime = Enumerable.Repeat(t, _B).ToArray(), Stats = rows,
                FinalStates = _y.GetAsArray(), EventIndex = Enumerable.Repeat(-1, _B).ToArray(),
                LastStepSize = Enumerable.Repeat(hs, _B).ToArray(), RowStats = Enumerable.Repeat(rows, _B).ToArray(),
            };
        }

        /// <summary>The outputs inside the accepted step [t, tNew]: yNew at its end, else the step's interpolant
        /// y + Σ (h·w_i) k_i with the tableau's weights at (t_out − t)/h, the coefficients multiplied on the host as the CPU does.</summary>
        private int EmitOutputs(int next, double t, double hs, double tNew)
        {
            double dir = _times[^1] > _times[0] ? 1 : -1;
            var w = new double[_slots];
            var coef = new double[_slots];
            while (next < _times.Length && dir * (_times[next] - tNew) <= 0)
            {
                double to = _times[next];
                var dst = _states.SubView((long)next * _n, _n);
                if (to == tNew) _yNew.CopyTo(dst);
                else
                {
                    _tab.InterpolationWeights((to - t) / hs, w);
                    for (int i = 0; i < _slots; i++) coef[i] = w[i] == 0 ? 0 : hs * w[i];
                    _interp.CopyFromCPU(coef);
                    _k.Combine(_n, _y, _k0, _interp, 0, _slots, 1.0, dst, _n);
                }
                next++;
            }
            return next;
        }
    }
}
