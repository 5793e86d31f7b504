using ILGPU;
using ILGPU.Runtime;

namespace OdeDsl.Gpu;

/// <summary>Gradients of an ensemble solve: dL/dy0 per trajectory, dL/dθ per trajectory and summed over trajectories.</summary>
public sealed class EnsembleGradients<T> where T : unmanaged
{
    /// <summary>[N, S]: dL/dh(t₀) per trajectory.</summary>
    public required T[] InitialState { get; init; }
    /// <summary>Σ over trajectories of dL/dθ (θ shared by all), reduced on the device (ILGPU.Algorithms); empty when θ is per trajectory.</summary>
    public required T[] Theta { get; init; }
    /// <summary>[N, P]: each trajectory's own dL/dθ.</summary>
    public required T[] ThetaPerTrajectory { get; init; }
    /// <summary>The forward solve's states at the output times, [time, trajectory, state].</summary>
    public required T[] States { get; init; }
    /// <summary>The forward solve's result code per trajectory.</summary>
    public required SolveStatus[] Status { get; init; }
    /// <summary>The adjoint's backward solve per trajectory: its result code (a trajectory whose forward solve failed is not
    /// run backwards and carries the forward's code; its gradients are NaN), and its steps and augmented evaluations summed
    /// over the output intervals, as the CPU's <see cref="OdeGradients{T}.Backward"/>. Null for backprop.</summary>
    public SolveStatus[]? BackwardStatus { get; init; }
    /// <inheritdoc cref="BackwardStatus"/>
    public long[]? BackwardAcceptedSteps { get; init; }
    /// <inheritdoc cref="BackwardStatus"/>
    public long[]? BackwardRejectedSteps { get; init; }
    /// <inheritdoc cref="BackwardStatus"/>
    public long[]? BackwardEvaluations { get; init; }
    /// <summary>Whether every trajectory's forward (and, for the adjoint, backward) solve succeeded.</summary>
    public bool AllSucceeded => Array.TrueForAll(Status, s => s == SolveStatus.Success)
        && (BackwardStatus is null || Array.TrueForAll(BackwardStatus, s => s == SolveStatus.Success));
}

/// <summary>
/// Gradients through ensemble solves on an ILGPU accelerator: backprop through fixed-step solves (double) and the
/// adjoint (backsolve, GpuGradients.Adjoint.cs), each one fused kernel with one thread per trajectory plus one device
/// reduction per parameter when θ is shared.
/// </summary>
public static partial class GpuGradients
{
    /// <summary>
    /// L's gradient for a fixed-step solve of every row of <paramref name="y0"/> ([N, S]) with θ shared; output times must
    /// lie on the step grid (t0 + k·FixedStep, or the final time), because the loss is differentiated through the steps,
    /// not through an interpolant. <paramref name="dLdStates"/> is [time, trajectory, state] like the solution's States.
    /// Agrees with <c>Ode.Gradient(..., Sensitivity.Backprop, ...)</c> of the CPU runtime.
    /// </summary>
    public static EnsembleGradients<double> Backprop<TField>(Accelerator accelerator, TField field, double[] y0, double[] theta, double[] times,
        double[] dLdStates, EnsembleOptions options) where TField : struct, IDeviceDynamics<double>
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(options);
        var tab = options.Method.Tableau;
        if (tab.IsAdaptive || options.FixedStep is not { } step || !(step > 0))
            throw new ArgumentException($"Backprop on the device needs a fixed-step method with EnsembleOptions.FixedStep > 0 (got {tab.Name}, step {options.FixedStep}); the adaptive adjoint is not implemented on the device yet.", nameof(options));
        int S = field.StateSize, P = field.ParameterCount;
        if (y0 is null || y0.Length == 0 || y0.Length % S != 0)
            throw new ArgumentException($"y0 must be [N, {S}] row-major; it has {y0?.Length ?? 0} elements.", nameof(y0));
        int n = y0.Length / S;
        if (theta is null || theta.Length != P) throw new ArgumentException($"theta must have the field's {P} parameters (shared by all trajectories).", nameof(theta));
        if (times is null || times.Length < 2) throw new ArgumentException("times needs at least 2 entries.", nameof(times));
        if (dLdStates is null || dLdStates.Length != (long)times.Length * n * S)
            throw new ArgumentException($"dLdStates must be [time, trajectory, state] = {times.Length}×{n}×{S}; it has {dLdStates?.Length ?? 0} elements.", nameof(dLdStates));
        var (starts, sizes, outputs) = StepGrid(times, step);

        var args = new Gradients.BackpropKernelF64.Args
        {
            N = n, S = S, P = P, Stages = tab.Stages, Steps = starts.Length, NOut = times.Length, WorkRows = field.WorkLength,
        };
        var owned = new List<MemoryBuffer>();
        ArrayView<T> Up<T>(T[] data) where T : unmanaged { var b = accelerator.Allocate1D(data.Length == 0 ? new T[1] : data); owned.Add(b); return b.View; }
        ArrayView<T> Alloc<T>(long len) where T : unmanaged { var b = accelerator.Allocate1D<T>(Math.Max(len, 1)); owned.Add(b); return b.View; }
        try
        {
            int s = tab.Stages;
            var a = new double[s * s];
            for (int i = 0; i < s; i++) for (int j = 0; j < i; j++) a[i * s + j] = tab.A[i][j];
            args.A = Up(a); args.B = Up(tab.B.ToArray()); args.C = Up(tab.C.ToArray());
            args.StepStart = Up(starts); args.StepSize = Up(sizes); args.OutputAtStepEnd = Up(outputs);
            args.Y0 = Up(y0); args.Theta = Up(theta); args.DLdStates = Up(dLdStates);
            args.Tape = Alloc<double>((long)(starts.Length + 1) * S * n);
            int rows = Gradients.BackpropKernelF64.ScratchRows(S, P, s, field.WorkLength);
            args.Scratch = Alloc<double>((long)rows * n);
            args.States = Alloc<double>((long)times.Length * n * S);
            args.GradInitial = Alloc<double>((long)n * S);
            args.Status = Alloc<int>(n);
            var kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, Gradients.BackpropKernelF64.Args, TField>(Gradients.BackpropKernelF64.Kernel);
            kernel(n, args, field);
            accelerator.Synchronize();

            // θ̄ per trajectory sits in scratch rows [thetaBarRow, thetaBarRow + P) × N: summed over trajectories on the device
            long thetaBarRow = (3L * s + 4) * S + P;
            var sum = Gradients.RowSums.Double(accelerator, args.Scratch.SubView(thetaBarRow * n, (long)P * n), n, P);
            var scratch = args.Scratch.GetAsArray();
            var perTrajectory = new double[(long)n * P];
            for (int i = 0; i < n; i++)
                for (int p = 0; p < P; p++) perTrajectory[(long)i * P + p] = scratch[(thetaBarRow + p) * n + i];
            return new EnsembleGradients<double>
            {
                InitialState = args.GradInitial.GetAsArray(), Theta = sum, ThetaPerTrajectory = perTrajectory,
                States = args.States.GetAsArray(), Status = Array.ConvertAll(args.Status.GetAsArray(), v => (SolveStatus)v),
            };
        }
        finally
        {
            foreach (var b in owned) b.Dispose();
        }
    }

    /// <summary>The CPU solver's fixed-step sequence (the last step cut to land on the final time) and, per step, the output
    /// index its end reaches (−1: none). Every output time after the first must be a step end.</summary>
    internal static (double[] Starts, double[] Sizes, int[] Outputs) StepGrid(double[] times, double fixedStep)
    {
        double t0 = times[0], tEnd = times[^1], dir = tEnd > t0 ? 1 : -1, h = fixedStep * dir, t = t0;
        var starts = new List<double>(); var sizes = new List<double>(); var outs = new List<int>();
        int next = 1;
        while (true)
        {
            double rest = tEnd - t;
            double hs = Math.Abs(h) >= Math.Abs(rest) ? rest : h;
            double tNew = Math.Abs(hs) >= Math.Abs(tEnd - t) ? tEnd : t + hs;
            starts.Add(t); sizes.Add(hs);
            if (next < times.Length && dir * (times[next] - tNew) < 0)
                throw new ArgumentException($"times[{next}] = {times[next]} is not on the step grid of FixedStep {fixedStep} from {t0} (steps end at {t} and {tNew}); device backprop differentiates through steps, not the interpolant.", nameof(times));
            outs.Add(next < times.Length && times[next] == tNew ? next++ : -1);
            t = tNew;
            if (tNew == tEnd) break;
            if (starts.Count > 10_000_000) throw new ArgumentException("more than 10⁷ fixed steps.", nameof(fixedStep));
        }
        return (starts.ToArray(), sizes.ToArray(), outs.ToArray());
    }
}
