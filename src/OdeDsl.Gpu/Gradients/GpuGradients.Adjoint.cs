using ILGPU;
using ILGPU.Runtime;
using OdeDsl.Gpu.Gradients;

namespace OdeDsl.Gpu;

public static partial class GpuGradients
{
    /// <summary>
    /// The adjoint (backsolve) gradient of a loss L of the ensemble solve of every row of <paramref name="y0"/> ([N, S]) through
    /// <paramref name="times"/>: the forward ensemble solve (<see cref="GpuOde.Solve{TField}(Accelerator, TField, double[], double[], double[], EnsembleOptions?)"/>),
    /// then one thread per trajectory integrates [h, a, a_θ] backwards from the last output time to the first, adding
    /// <paramref name="dLdStates"/> ([time, trajectory, state], like the solution's States) at each output time.
    /// θ is shared ([P]: dL/dθ is also summed over trajectories on the device) or per trajectory ([N, P]).
    /// Trajectory by trajectory it is the CPU runtime's <c>Ode.Gradient(..., Sensitivity.Adjoint(...), ...)</c> for a batch of
    /// one, with the same steps (see <see cref="GpuAdjointOptions"/> for the norm); a failed trajectory gets a result code
    /// and NaN gradients instead of the CPU's exception.
    /// </summary>
    /// <remarks>When the loss needs the forward states, solve first and call the overload that takes the forward solution.</remarks>
    public static EnsembleGradients<double> Adjoint<TField>(Accelerator accelerator, TField field, double[] y0, double[] theta, double[] times,
        double[] dLdStates, EnsembleOptions? options = null, GpuAdjointOptions? adjoint = null) where TField : struct, IDeviceDynamics<double>
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        var o = options ?? new EnsembleOptions();
        // every argument is checked before the forward solve runs
        var (n, _) = GpuOde.Validate(field.StateSize, field.ParameterCount, y0, theta, times, o, double.IsFinite);
        ValidateAdjoint(field.StateSize, field.ParameterCount, n, field.StateSize, times.Length, theta, dLdStates, o, adjoint ?? new GpuAdjointOptions());
        var forward = GpuOde.Solve(accelerator, field, y0, theta, times, o);
        return Adjoint(accelerator, field, forward, theta, dLdStates, o, adjoint);
    }

    /// <summary>
    /// The adjoint backward pass for a forward ensemble solve already made with the same field, θ and
    /// <paramref name="options"/>: <paramref name="dLdStates"/> is [time, trajectory, state] like <paramref name="forward"/>'s States.
    /// </summary>
    public static EnsembleGradients<double> Adjoint<TField>(Accelerator accelerator, TField field, EnsembleSolution<double> forward, double[] theta,
        double[] dLdStates, EnsembleOptions? options = null, GpuAdjointOptions? adjoint = null) where TField : struct, IDeviceDynamics<double>
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(forward);
        var o = options ?? new EnsembleOptions();
        var ad = adjoint ?? new GpuAdjointOptions();
        var (n, S, P, perTrajectory, tab, rtol, atol, channels, controlled) = ValidateAdjoint(field.StateSize, field.ParameterCount,
            forward.Trajectories, forward.StateSize, forward.Times.Length, theta, dLdStates, o, ad);
        int L = 2 * S + P, s = tab.Stages;
        var args = new AdjointKernelF64.Args
        {
            N = n, S = S, P = P, L = L, Stages = s, Fsal = tab.Fsal ? 1 : 0, Adaptive = tab.IsAdaptive ? 1 : 0, Order = tab.Order,
            Controller = (int)o.Controller, MaxSteps = o.MaxSteps, NOut = forward.Times.Length, ThetaPerTrajectory = perTrajectory ? 1 : 0,
            Channels = channels.Length, Controlled = controlled,
            RelTol = rtol, AbsTol = atol, MinStep = o.MinStep, MaxStep = o.MaxStep, FixedStep = o.FixedStep ?? 0,
            Safety = 0.9, IFactor = 10, DFactor = 0.2,
        };
        using var buffers = new GpuOde.Buffers<double>(accelerator);
        args.A = buffers.Upload(GpuOde.Coefficients(tab, x => x));
        args.B = buffers.Upload(tab.B.ToArray());
        args.C = buffers.Upload(tab.C.ToArray());
        args.E = buffers.Upload(tab.BError?.ToArray() ?? new double[s]);
        args.Times = buffers.Upload(forward.Times);
        args.Theta = buffers.Upload(theta.Length == 0 ? new double[1] : perTrajectory ? GpuOde.Interleave(theta, n, P) : theta);
        args.States = buffers.Upload(forward.States);
        args.DLdStates = buffers.Upload(dLdStates);
        args.ChannelLengths = buffers.Upload(channels);
        args.Scratch = buffers.Allocate<double>(AdjointKernelF64.ScratchRows(S, L, s, field.WorkLength) * n);
        args.GradInitial = buffers.Allocate<double>((long)n * S);
        args.ForwardStatus = buffers.Upload(Array.ConvertAll(forward.Status, v => (int)v));
        args.Status = buffers.Allocate<int>(n);
        args.Evaluations = buffers.Allocate<long>(n);
        args.Accepted = buffers.Allocate<long>(n);
        args.Rejected = buffers.Allocate<long>(n);
        var kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, AdjointKernelF64.Args, TField>(AdjointKernelF64.Kernel);
        kernel(n, args, field);
        accelerator.Synchronize();

        // dL/dθ per trajectory is z's a_θ: scratch rows 2S … 2S + P, interleaved ([P, N])
        long thetaRow = 2L * S;
        double[] sum = perTrajectory ? [] : RowSums.Double(accelerator, args.Scratch.SubView(thetaRow * n, (long)P * n), n, P);
        var rows = args.Scratch.SubView(thetaRow * n, (long)P * n).GetAsArray();
        var thetaPerTrajectory = new double[(long)n * P];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < P; p++) thetaPerTrajectory[(long)i * P + p] = rows[(long)p * n + i];
        return new EnsembleGradients<double>
        {
            InitialState = args.GradInitial.GetAsArray(), Theta = sum, ThetaPerTrajectory = thetaPerTrajectory,
            States = forward.States, Status = forward.Status,
            BackwardStatus = Array.ConvertAll(args.Status.GetAsArray(), v => (SolveStatus)v),
            BackwardEvaluations = args.Evaluations.GetAsArray(), BackwardAcceptedSteps = args.Accepted.GetAsArray(),
            BackwardRejectedSteps = args.Rejected.GetAsArray(),
        };
    }

    /// <summary>The adjoint in float (see the double overload); the backward solve runs in float as the CPU's does for T = float.</summary>
    public static EnsembleGradients<float> Adjoint<TField>(Accelerator accelerator, TField field, float[] y0, float[] theta, float[] times,
        float[] dLdStates, EnsembleOptions? options = null, GpuAdjointOptions? adjoint = null) where TField : struct, IDeviceDynamics<float>
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        var o = options ?? new EnsembleOptions();
        var (n, _) = GpuOde.Validate(field.StateSize, field.ParameterCount, y0, theta, times, o, float.IsFinite);
        ValidateAdjoint(field.StateSize, field.ParameterCount, n, field.StateSize, times.Length, theta, dLdStates, o, adjoint ?? new GpuAdjointOptions());
        var forward = GpuOde.Solve(accelerator, field, y0, theta, times, o);
        return Adjoint(accelerator, field, forward, theta, dLdStates, o, adjoint);
    }

    /// <summary>The adjoint backward pass in float for a forward ensemble solve already made (see the double overload).</summary>
    public static EnsembleGradients<float> Adjoint<TField>(Accelerator accelerator, TField field, EnsembleSolution<float> forward, float[] theta,
        float[] dLdStates, EnsembleOptions? options = null, GpuAdjointOptions? adjoint = null) where TField : struct, IDeviceDynamics<float>
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(forward);
        var o = options ?? new EnsembleOptions();
        var ad = adjoint ?? new GpuAdjointOptions();
        var (n, S, P, perTrajectory, tab, rtol, atol, channels, controlled) = ValidateAdjoint(field.StateSize, field.ParameterCount,
            forward.Trajectories, forward.StateSize, forward.Times.Length, theta, dLdStates, o, ad);
        int L = 2 * S + P, s = tab.Stages;
        var args = new AdjointKernelF32.Args
        {
            N = n, S = S, P = P, L = L, Stages = s, Fsal = tab.Fsal ? 1 : 0, Adaptive = tab.IsAdaptive ? 1 : 0, Order = tab.Order,
            Controller = (int)o.Controller, MaxSteps = o.MaxSteps, NOut = forward.Times.Length, ThetaPerTrajectory = perTrajectory ? 1 : 0,
            Channels = channels.Length, Controlled = controlled,
            RelTol = (float)rtol, AbsTol = (float)atol, MinStep = (float)o.MinStep, MaxStep = (float)o.MaxStep, FixedStep = (float)(o.FixedStep ?? 0),
            Safety = 0.9, IFactor = 10, DFactor = 0.2,
        };
        using var buffers = new GpuOde.Buffers<float>(accelerator);
        args.A = buffers.Upload(GpuOde.Coefficients(tab, x => (float)x));
        args.B = buffers.Upload(Array.ConvertAll(tab.B, x => (float)x));
        args.C = buffers.Upload(Array.ConvertAll(tab.C, x => (float)x));
        args.E = buffers.Upload(tab.BError is { } e ? Array.ConvertAll(e, x => (float)x) : new float[s]);
        args.Times = buffers.Upload(forward.Times);
        args.Theta = buffers.Upload(theta.Length == 0 ? new float[1] : perTrajectory ? GpuOde.Interleave(theta, n, P) : theta);
        args.States = buffers.Upload(forward.States);
        args.DLdStates = buffers.Upload(dLdStates);
        args.ChannelLengths = buffers.Upload(channels);
        args.Scratch = buffers.Allocate<float>(AdjointKernelF32.ScratchRows(S, L, s, field.WorkLength) * n);
        args.GradInitial = buffers.Allocate<float>((long)n * S);
        args.ForwardStatus = buffers.Upload(Array.ConvertAll(forward.Status, v => (int)v));
        args.Status = buffers.Allocate<int>(n);
        args.Evaluations = buffers.Allocate<long>(n);
        args.Accepted = buffers.Allocate<long>(n);
        args.Rejected = buffers.Allocate<long>(n);
        var kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, AdjointKernelF32.Args, TField>(AdjointKernelF32.Kernel);
        kernel(n, args, field);
        accelerator.Synchronize();

        long thetaRow = 2L * S;
        float[] sum = perTrajectory ? [] : RowSums.Float(accelerator, args.Scratch.SubView(thetaRow * n, (long)P * n), n, P);
        var rows = args.Scratch.SubView(thetaRow * n, (long)P * n).GetAsArray();
        var thetaPerTrajectory = new float[(long)n * P];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < P; p++) thetaPerTrajectory[(long)i * P + p] = rows[(long)p * n + i];
        return new EnsembleGradients<float>
        {
            InitialState = args.GradInitial.GetAsArray(), Theta = sum, ThetaPerTrajectory = thetaPerTrajectory,
            States = forward.States, Status = forward.Status,
            BackwardStatus = Array.ConvertAll(args.Status.GetAsArray(), v => (SolveStatus)v),
            BackwardEvaluations = args.Evaluations.GetAsArray(), BackwardAcceptedSteps = args.Accepted.GetAsArray(),
            BackwardRejectedSteps = args.Rejected.GetAsArray(),
        };
    }

    private static (int N, int S, int P, bool PerTrajectory, ButcherTableau Tableau, double RelTol, double AbsTol, int[] Channels, int Controlled)
        ValidateAdjoint<T>(int S, int P, int n, int solutionS, int nOut, T[] theta, T[] dLdStates, EnsembleOptions o, GpuAdjointOptions ad)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(dLdStates);
        if (solutionS != S)
            throw new ArgumentException($"The forward solution has states of {solutionS} components; the field has StateSize {S}.", "forward");
        bool perTrajectory = P > 0 && theta.Length == (long)n * P && n > 1;
        if (theta.Length != P && !perTrajectory)
            throw new ArgumentException($"theta has {theta.Length} elements; the field has {P} parameters, so pass {P} (shared) or {(long)n * P} ([N, P], one row per trajectory) as in the forward solve.", nameof(theta));
        if (dLdStates.Length != (long)nOut * n * S)
            throw new ArgumentException($"dLdStates must be [time, trajectory, state] = {nOut}×{n}×{S}; it has {dLdStates.Length} elements.", nameof(dLdStates));
        var method = ad.Method ?? o.Method ?? throw new ArgumentException("EnsembleOptions.Method is null.", nameof(o));
        var tab = method.Tableau;
        if (tab.DenseC.Length > 0 || tab.BErrorLow is not null)
            throw new ArgumentException($"The backward method {method.Name} needs extra stages or a second error estimate, which the adjoint kernel does not implement; use dopri5, tsit5 or another explicit tableau.", nameof(ad));
        if (!tab.IsAdaptive && (o.FixedStep is not { } fs || !(fs > 0)))
            throw new ArgumentException($"The backward solve uses {method.Name}, a fixed-step method, with EnsembleOptions.FixedStep, which is not set.", nameof(o));
        double rtol = ad.RelTol ?? o.RelTol, atol = ad.AbsTol ?? o.AbsTol;
        if (tab.IsAdaptive && (!(rtol >= 0) || !(atol >= 0) || rtol + atol <= 0))
            throw new ArgumentException($"Backward tolerances must be non-negative and not both zero (rtol {rtol}, atol {atol}).", nameof(ad));
        if (o.MaxSteps <= 0) throw new ArgumentException($"MaxSteps must be positive; it is {o.MaxSteps}.", nameof(o));
        var (channels, controlled) = ad.Channels(S, P);
        return (n, S, P, perTrajectory, tab, rtol, atol, channels, controlled);
    }
}
