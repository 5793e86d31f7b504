using ILGPU;
using ILGPU.Runtime;
using OdeDsl.Gpu.Ensemble;

namespace OdeDsl.Gpu;

/// <summary>
/// Ensemble solves on an ILGPU accelerator (a CUDA GPU, or ILGPU's CPU accelerator where there is none): N independent
/// trajectories, one thread each, in one fused kernel (every stage, the error control and the dense output inside it),
/// with the CPU runtime's per-sample semantics (see EnsembleKernelF64). The field is a generated
/// <c>{Nested}Device.F64</c> / <c>.F32</c> struct; θ is shared ([P]) or per trajectory ([N, P]).
/// </summary>
public static class GpuOde
{
    /// <summary>Integrates every row of <paramref name="y0"/> ([N, S]) through <paramref name="times"/> in double.</summary>
    public static EnsembleSolution<double> Solve<TField>(Accelerator accelerator, TField field, double[] y0, double[] theta, double[] times,
        EnsembleOptions? options = null) where TField : struct, IDeviceDynamics<double>
    {
        var o = options ?? new EnsembleOptions();
        var (n, perTrajectory) = Validate(field.StateSize, field.ParameterCount, y0, theta, times, o, double.IsFinite);
        var tab = o.Method.Tableau;
        var args = new EnsembleKernelF64.Args();
        Fill(ref args.N, ref args.S, ref args.Stages, ref args.Slots, ref args.Fsal, ref args.Adaptive, ref args.Order, ref args.Interpolant,
            ref args.Controller, ref args.MaxSteps, ref args.NOut, ref args.ThetaPerTrajectory, ref args.WorkRows, n, field.StateSize, field.WorkLength,
            perTrajectory, times.Length, tab, o);
        args.RelTol = o.RelTol; args.AbsTol = o.AbsTol; args.MinStep = o.MinStep; args.MaxStep = o.MaxStep;
        args.FixedStep = o.FixedStep ?? 0; args.FirstStep = o.FirstStep ?? 0;
        args.Safety = 0.9; args.IFactor = 10; args.DFactor = 0.2;
        using var buffers = new Buffers<double>(accelerator);
        int s = tab.Stages, S = field.StateSize;
        args.A = buffers.Upload(Coefficients(tab, x => x));
        args.B = buffers.Upload(tab.B.ToArray());
        args.C = buffers.Upload(tab.C.ToArray());
        args.E = buffers.Upload(tab.BError?.ToArray() ?? new double[s]);
        args.BDouble = buffers.Upload(tab.B.ToArray());
        args.DenseD = buffers.Upload(Dopri5D);
        args.Times = buffers.Upload(times);
        args.Y0 = buffers.Upload(y0);
        args.Theta = buffers.Upload(theta.Length == 0 ? new double[1] : perTrajectory ? Interleave(theta, n, field.ParameterCount) : theta);
        args.Scratch = buffers.Allocate<double>((long)ScratchRows(args.S, args.Slots, args.WorkRows) * n);
        args.States = buffers.Allocate<double>((long)times.Length * n * S);
        args.FinalStates = buffers.Allocate<double>((long)n * S);
        args.FinalTime = buffers.Allocate<double>(n);
        args.LastStep = buffers.Allocate<double>(n);
        args.Status = buffers.Allocate<int>(n);
        args.Evaluations = buffers.Allocate<long>(n);
        args.Accepted = buffers.Allocate<long>(n);
        args.Rejected = buffers.Allocate<long>(n);
        var kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, EnsembleKernelF64.Args, TField>(EnsembleKernelF64.Kernel);
        kernel(n, args, field);
        accelerator.Synchronize();
        return new EnsembleSolution<double>
        {
            Trajectories = n, StateSize = S, Times = times.ToArray(),
            States = args.States.GetAsArray(), FinalStates = args.FinalStates.GetAsArray(),
            FinalTime = args.FinalTime.GetAsArray(), LastStepSize = args.LastStep.GetAsArray(),
            Status = Array.ConvertAll(args.Status.GetAsArray(), v => (SolveStatus)v),
            Evaluations = args.Evaluations.GetAsArray(), AcceptedSteps = args.Accepted.GetAsArray(), RejectedSteps = args.Rejected.GetAsArray(),
        };
    }

    /// <summary>Integrates every row of <paramref name="y0"/> ([N, S]) through <paramref name="times"/> in float.</summary>
    public static EnsembleSolution<float> Solve<TField>(Accelerator accelerator, TField field, float[] y0, float[] theta, float[] times,
        EnsembleOptions? options = null) where TField : struct, IDeviceDynamics<float>
    {
        var o = options ?? new EnsembleOptions();
        var (n, perTrajectory) = Validate(field.StateSize, field.ParameterCount, y0, theta, times, o, float.IsFinite);
        var tab = o.Method.Tableau;
        var args = new EnsembleKernelF32.Args();
        Fill(ref args.N, ref args.S, ref args.Stages, ref args.Slots, ref args.Fsal, ref args.Adaptive, ref args.Order, ref args.Interpolant,
            ref args.Controller, ref args.MaxSteps, ref args.NOut, ref args.ThetaPerTrajectory, ref args.WorkRows, n, field.StateSize, field.WorkLength,
            perTrajectory, times.Length, tab, o);
        args.RelTol = (float)o.RelTol; args.AbsTol = (float)o.AbsTol; args.MinStep = (float)o.MinStep; args.MaxStep = (float)o.MaxStep;
        args.FixedStep = (float)(o.FixedStep ?? 0); args.FirstStep = (float)(o.FirstStep ?? 0);
        args.Safety = 0.9; args.IFactor = 10; args.DFactor = 0.2;
        using var buffers = new Buffers<float>(accelerator);
        int s = tab.Stages, S = field.StateSize;
        args.A = buffers.Upload(Coefficients(tab, x => (float)x));
        args.B = buffers.Upload(Array.ConvertAll(tab.B, x => (float)x));
        args.C = buffers.Upload(Array.ConvertAll(tab.C, x => (float)x));
        args.E = buffers.Upload(tab.BError is { } e ? Array.ConvertAll(e, x => (float)x) : new float[s]);
        args.BDouble = buffers.Upload(tab.B.ToArray());
        args.DenseD = buffers.Upload(Dopri5D);
        args.Times = buffers.Upload(times);
        args.Y0 = buffers.Upload(y0);
        args.Theta = buffers.Upload(theta.Length == 0 ? new float[1] : perTrajectory ? Interleave(theta, n, field.ParameterCount) : theta);
        args.Scratch = buffers.Allocate<float>((long)ScratchRows(args.S, args.Slots, args.WorkRows) * n);
        args.States = buffers.Allocate<float>((long)times.Length * n * S);
        args.FinalStates = buffers.Allocate<float>((long)n * S);
        args.FinalTime = buffers.Allocate<float>(n);
        args.LastStep = buffers.Allocate<float>(n);
        args.Status = buffers.Allocate<int>(n);
        args.Evaluations = buffers.Allocate<long>(n);
        args.Accepted = buffers.Allocate<long>(n);
        args.Rejected = buffers.Allocate<long>(n);
        var kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, EnsembleKernelF32.Args, TField>(EnsembleKernelF32.Kernel);
        kernel(n, args, field);
        accelerator.Synchronize();
        return new EnsembleSolution<float>
        {
            Trajectories = n, StateSize = S, Times = times.ToArray(),
            States = args.States.GetAsArray(), FinalStates = args.FinalStates.GetAsArray(),
            FinalTime = args.FinalTime.GetAsArray(), LastStepSize = args.LastStep.GetAsArray(),
            Status = Array.ConvertAll(args.Status.GetAsArray(), v => (SolveStatus)v),
            Evaluations = args.Evaluations.GetAsArray(), AcceptedSteps = args.Accepted.GetAsArray(), RejectedSteps = args.Rejected.GetAsArray(),
        };
    }

    /// <summary>Dopri5's dense-output coefficients d_i (Hairer, Nørsett &amp; Wanner I, II.6, code DOPRI5; Shampine 1986), as
    /// OdeDsl.Tableaus.Dopri5 uses them.</summary>
    private static readonly double[] Dopri5D =
    [
        -12715105075.0 / 11282082432, 0, 87487479700.0 / 32700410799, -10690763975.0 / 1880347072,
        701980252875.0 / 199316789632, -1453857185.0 / 822651844, 69997945.0 / 29380423,
    ];

    /// <summary>[N, P] row-major → [P, N], so that trajectory i's θ is the strided vector (offset i, stride N) and
    /// neighbouring threads read neighbouring addresses.</summary>
    internal static T[] Interleave<T>(T[] rows, int n, int p)
    {
        var dst = new T[rows.Length];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < p; j++) dst[(long)j * n + i] = rows[(long)i * p + j];
        return dst;
    }

    internal static int ScratchRows(int S, int slots, int workRows) => (3 + slots) * S + Math.Max(workRows, 1);

    internal static T[] Coefficients<T>(ButcherTableau tab, Func<double, T> convert)
    {
        int s = tab.Stages;
        var a = new T[s * s];
        for (int i = 0; i < s; i++)
            for (int j = 0; j < i; j++) a[i * s + j] = convert(tab.A[i][j]);
        return a;
    }

    private static void Fill(ref int nField, ref int sField, ref int stages, ref int slots, ref int fsal, ref int adaptive, ref int order,
        ref int interpolant, ref int controller, ref int maxSteps, ref int nOut, ref int perTrajectoryTheta, ref int workRows,
        int n, int S, int work, bool perTrajectory, int times, ButcherTableau tab, EnsembleOptions o)
    {
        nField = n; sField = S; stages = tab.Stages; slots = tab.DenseSlots; fsal = tab.Fsal ? 1 : 0; adaptive = tab.IsAdaptive ? 1 : 0;
        order = tab.Order; controller = (int)o.Controller; maxSteps = o.MaxSteps; nOut = times; perTrajectoryTheta = perTrajectory ? 1 : 0;
        workRows = work;
        interpolant = tab.Interpolant is null ? EnsembleKernelF64.Hermite
            : tab.Name == "dopri5" ? EnsembleKernelF64.Dopri5
            : tab.Name == "tsit5" ? EnsembleKernelF64.Tsit5
            : throw new ArgumentException($"Method {tab.Name} has its own interpolant, which the ensemble kernel does not implement; use dopri5, tsit5 or a method with Hermite dense output.", nameof(o));
    }

    internal static (int N, bool PerTrajectory) Validate<T>(int S, int P, T[] y0, T[] theta, T[] times, EnsembleOptions o, Func<T, bool> isFinite)
        where T : unmanaged, IComparable<T>
    {
        ArgumentNullException.ThrowIfNull(y0);
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(times);
        ArgumentNullException.ThrowIfNull(o.Method);
        if (y0.Length == 0 || y0.Length % S != 0)
            throw new ArgumentException($"y0 has {y0.Length} elements, not a positive multiple of the field's StateSize {S} ([N, StateSize] row-major).", nameof(y0));
        int n = y0.Length / S;
        bool perTrajectory = P > 0 && theta.Length == (long)n * P && n > 1;
        if (theta.Length != P && !perTrajectory)
            throw new ArgumentException($"theta has {theta.Length} elements; the field has {P} parameters, so pass {P} (shared) or {(long)n * P} ([N, P], one row per trajectory).", nameof(theta));
        if (times.Length < 2) throw new ArgumentException($"times needs at least 2 entries (start and end); it has {times.Length}.", nameof(times));
        int dir = times[1].CompareTo(times[0]);
        for (int i = 0; i < times.Length; i++)
        {
            if (!isFinite(times[i])) throw new ArgumentException($"times[{i}] is not finite.", nameof(times));
            if (i > 0 && times[i].CompareTo(times[i - 1]) != dir || dir == 0)
                throw new ArgumentException($"times must be strictly monotonic; times[{i}] breaks it.", nameof(times));
        }
        foreach (var v in y0) if (!isFinite(v)) throw new ArgumentException("y0 contains a non-finite value.", nameof(y0));
        if (o.Method.Tableau.DenseC.Length > 0)
            throw new ArgumentException($"Method {o.Method.Name} needs extra dense stages, which the ensemble kernel does not implement; use dopri5 or tsit5.", nameof(o));
        if (!o.Method.IsAdaptive && (o.FixedStep is not { } fs || !(fs > 0)))
            throw new ArgumentException($"Method {o.Method.Name} is fixed-step: set EnsembleOptions.FixedStep to a positive step.", nameof(o));
        if (!(o.RelTol >= 0) || !(o.AbsTol >= 0) || o.RelTol + o.AbsTol <= 0)
            throw new ArgumentException($"Tolerances must be non-negative and not both zero (rtol {o.RelTol}, atol {o.AbsTol}).", nameof(o));
        if (o.MaxSteps <= 0) throw new ArgumentException($"MaxSteps must be positive; it is {o.MaxSteps}.", nameof(o));
        return (n, perTrajectory);
    }

    /// <summary>Device buffers of one solve, freed together.</summary>
    internal sealed class Buffers<TReal>(Accelerator accelerator) : IDisposable where TReal : unmanaged
    {
        private readonly List<MemoryBuffer> _owned = [];

        public ArrayView<T> Upload<T>(T[] data) where T : unmanaged
        {
            var b = accelerator.Allocate1D(data);
            _owned.Add(b);
            return b.View;
        }

        public ArrayView<T> Allocate<T>(long length) where T : unmanaged
        {
            var b = accelerator.Allocate1D<T>(Math.Max(length, 1));
            _owned.Add(b);
            return b.View;
        }

        public void Dispose()
        {
            foreach (var b in _owned) b.Dispose();
        }
    }
}
