using System.Numerics;
using OdeDsl.Training;

namespace OdeDsl.Flows;

/// <summary>How a <see cref="ContinuousFlow{TField, T}"/> computes tr(∂f/∂z).</summary>
public enum TraceEstimator
{
    /// <summary>The exact trace, d Jacobian-vector products (Chen et al. 2018).</summary>
    Exact,
    /// <summary>Hutchinson's εᵀ(∂f/∂z)ε with ε ~ N(0, I), one draw per sample and solve (FFJORD).</summary>
    Gaussian,
    /// <summary>Hutchinson's estimator with Rademacher ε (entries ±1), which has the smaller variance of the two.</summary>
    Rademacher,
}

/// <summary>Settings of a <see cref="ContinuousFlow{TField, T}"/>.</summary>
public sealed class FlowOptions<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Time of the base distribution (cnf.py: t₀ = 0).</summary>
    public T BaseTime { get; init; } = T.Zero;
    /// <summary>Time of the data (cnf.py: t₁ = 10; FFJORD toy: T = 0.5).</summary>
    public T DataTime { get; init; } = T.CreateChecked(10);
    /// <summary>Standard deviation σ of the isotropic Gaussian base N(0, σ²I) (cnf.py: σ² = 0.1).</summary>
    public T BaseStd { get; init; } = T.CreateChecked(Math.Sqrt(0.1));
    public TraceEstimator Trace { get; init; } = TraceEstimator.Exact;
    /// <summary>Solver settings; the norm defaults to the mixed norm over [z, Δlog p] (<see cref="FlowNorms.Mixed{T}"/>).</summary>
    public SolveOptions<T> Solve { get; init; } = new() { RelTol = T.CreateChecked(1e-5), AbsTol = T.CreateChecked(1e-5) };
    /// <summary>
    /// λ_K of RNODE's kinetic energy λ_K·mean ∫‖f‖² |dt| added to the training losses (Finlay et al. 2020; 0 = off; their
    /// experiments use 0.01). Integrated as an extra state kept out of error control (<see cref="RegularizedExactTraceCnf{TField}"/>).
    /// </summary>
    public T Kinetic { get; init; } = T.Zero;
    /// <summary>
    /// λ_J of RNODE's Jacobian term λ_J·mean ∫‖∂f/∂z‖²_F |dt| (0 = off; their experiments use 0.01): exact with the exact
    /// trace, ‖(∂f/∂z)ε‖² with the Hutchinson estimators' noise (fixed per solve).
    /// </summary>
    public T JacobianFrobenius { get; init; } = T.Zero;
}

/// <summary>
/// What a differentiated flow solve reports. <see cref="BaseTimeGradient"/> computes dL/d(base time) on call (the adjoint
/// pays f evaluations for it), for a learnable integration time as FFJORD's.
/// </summary>
public readonly record struct FlowStep(double Loss, SolverStats Forward, SolverStats Backward, Func<double> BaseTimeGradient)
{
    /// <summary>mean ∫‖f‖² |dt| over the batch when the flow is regularised (<see cref="FlowOptions{T}.Kinetic"/>), else 0; λ_K times it is in <see cref="Loss"/>.</summary>
    public double Kinetic { get; init; }
    /// <summary>mean ∫‖∂f/∂z‖²_F |dt| (or its Hutchinson estimate) when regularised, else 0; λ_J times it is in <see cref="Loss"/>.</summary>
    public double JacobianFrobenius { get; init; }
}

/// <summary>
/// A continuous normalising flow: the field <typeparamref name="TField"/> with parameters θ carries the base
/// distribution at <see cref="FlowOptions{T}.BaseTime"/> to the data at <see cref="FlowOptions{T}.DataTime"/>.
/// It evaluates log-densities of arbitrary points (solving data → base), samples (solving base → data, with each
/// sample's log-density for free), and the negative log-likelihood with its θ-gradient through any
/// <see cref="Sensitivity"/> (backprop or adjoint), with the exact trace or Hutchinson's estimator.
/// </summary>
public sealed class ContinuousFlow<TField, T>
    where TField : ICnfField<TField>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int D => TField.Dimension;

    public ContinuousFlow(T[] theta, FlowOptions<T>? options = null)
    {
        ArgumentNullException.ThrowIfNull(theta);
        if (theta.Length != TField.ParameterCount)
            throw new ArgumentException($"θ has {theta.Length} elements; {typeof(TField).Name} has {TField.ParameterCount} parameters.", nameof(theta));
        Theta = theta;
        Options = options ?? new FlowOptions<T>();
        if (Options.BaseTime == Options.DataTime)
            throw new ArgumentException("The base and data times must differ.", nameof(options));
        if (!(Options.BaseStd > T.Zero))
            throw new ArgumentException($"The base standard deviation must be positive; got {Options.BaseStd}.", nameof(options));
        if (!(Options.Kinetic >= T.Zero) || !(Options.JacobianFrobenius >= T.Zero))
            throw new ArgumentException($"The regularisation weights must be non-negative; got Kinetic = {Options.Kinetic}, JacobianFrobenius = {Options.JacobianFrobenius}.", nameof(options));
    }

    /// <summary>The parameters (shared with the caller, who may train them in place).</summary>
    public T[] Theta { get; }
    public FlowOptions<T> Options { get; }
    private bool Hutchinson => Options.Trace != TraceEstimator.Exact;
    private int StateSize => Hutchinson ? 2 * D + 1 : D + 1;
    private bool Regularized => Options.Kinetic > T.Zero || Options.JacobianFrobenius > T.Zero;
    /// <summary>Rows of the differentiated solves: the regularised systems append [E_K, E_J] to the plain rows.</summary>
    private int TrainStateSize => Regularized ? StateSize + 2 : StateSize;

    /// <summary>log N(z; 0, σ²I).</summary>
    public T BaseLogDensity(ReadOnlySpan<T> z)
    {
        T s2 = Options.BaseStd * Options.BaseStd, sq = T.Zero;
        foreach (var v in z) sq += v * v;
        return -T.CreateChecked(0.5 * z.Length) * T.Log(T.CreateChecked(2 * Math.PI) * s2) - sq / (s2 + s2);
    }

    /// <summary>log p(x) for points x ([n, d]) into <paramref name="logDensity"/> ([n]); Hutchinson estimators draw from <paramref name="rng"/>.</summary>
    public SolverStats LogDensity(ReadOnlySpan<T> x, Span<T> logDensity, ref Rng rng)
    {
        int n = CheckPoints(x);
        if (logDensity.Length < n) throw new ArgumentException($"logDensity has {logDensity.Length} elements for {n} points.", nameof(logDensity));
        var y0 = InitialStates(x, n, ref rng);
        var sol = SolveAugmented(y0, [Options.DataTime, Options.BaseTime], n);
        var end = sol.States.AsSpan(sol.States.Length - n * StateSize);
        for (int b = 0; b < n; b++)
        {
            var row = end.Slice(b * StateSize, StateSize);
            logDensity[b] = BaseLogDensity(row.Slice(0, D)) - row[D];
        }
        return sol.Stats;
    }

    /// <summary>
    /// Pushes base points z ([n, d]) to the data time: x into <paramref name="x"/> and log p(x) into
    /// <paramref name="logDensity"/> (skipped when empty). Sampling is this with z drawn from the base (<see cref="Sample"/>).
    /// </summary>
    public SolverStats Push(ReadOnlySpan<T> z, Span<T> x, Span<T> logDensity, ref Rng rng)
    {
        int n = CheckPoints(z);
        var y0 = InitialStates(z, n, ref rng);
        var sol = SolveAugmented(y0, [Options.BaseTime, Options.DataTime], n);
        var end = sol.States.AsSpan(sol.States.Length - n * StateSize);
        for (int b = 0; b < n; b++)
        {
            var row = end.Slice(b * StateSize, StateSize);
            row.Slice(0, D).CopyTo(x.Slice(b * D, D));
            if (!logDensity.IsEmpty) logDensity[b] = BaseLogDensity(z.Slice(b * D, D)) + row[D];
        }
        return sol.Stats;
    }

    /// <summary>n samples ([n, d]) of the model; the base draws and any Hutchinson noise come from <paramref name="rng"/>.</summary>
    public T[] Sample(int n, ref Rng rng, Span<T> logDensity = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var z = new T[n * D];
        for (int i = 0; i < z.Length; i++) z[i] = T.CreateChecked(rng.NextGaussian()) * Options.BaseStd;
        var x = new T[n * D];
        Push(z, x, logDensity, ref rng);
        return x;
    }

    /// <summary>
    /// The state z at each of <paramref name="times"/> (first entry the start) for starting points <paramref name="start"/>:
    /// [times.Length, n, d], e.g. base samples carried to the data time for the figures of the flow's transformation.
    /// </summary>
    public T[] Trajectory(ReadOnlySpan<T> start, ReadOnlySpan<T> times)
    {
        int n = CheckPoints(start);
        var flow = new ContinuousFlow<TField, T>(Theta, new FlowOptions<T>
        {
            BaseTime = Options.BaseTime, DataTime = Options.DataTime, BaseStd = Options.BaseStd, Trace = TraceEstimator.Exact, Solve = Options.Solve,
        });
        var rng = new Rng(0);
        var y0 = flow.InitialStates(start, n, ref rng);
        var sol = flow.SolveAugmented(y0, times.ToArray(), n);
        var result = new T[times.Length * n * D];
        for (int i = 0; i < times.Length; i++)
            for (int b = 0; b < n; b++)
                sol.States.AsSpan((i * n + b) * (D + 1), D).CopyTo(result.AsSpan((i * n + b) * D, D));
        return result;
    }

    /// <summary>
    /// The negative log-likelihood −mean log p(x) of the points x ([n, d]) and its θ-gradient (written to
    /// <paramref name="gradTheta"/>), differentiated by <paramref name="sensitivity"/>.
    /// </summary>
    public FlowStep NegativeLogLikelihood(ReadOnlySpan<T> x, Span<T> gradTheta, Sensitivity sensitivity, ref Rng rng)
    {
        int n = CheckPoints(x);
        if (gradTheta.Length != Theta.Length) throw new ArgumentException($"gradTheta has {gradTheta.Length} elements; θ has {Theta.Length}.", nameof(gradTheta));
        var y0 = InitialStates(x, n, ref rng, TrainStateSize);
        T invN = T.One / T.CreateChecked(n), s2 = Options.BaseStd * Options.BaseStd;
        int S = TrainStateSize;
        return Differentiate(y0, n, Options.DataTime, Options.BaseTime, sensitivity, gradTheta, (end, grad) =>
        {
            T loss = T.Zero;
            for (int b = 0; b < n; b++)
            {
                var row = end.Slice(b * S, S);
                loss -= BaseLogDensity(row.Slice(0, D)) - row[D];
                var g = grad.Slice(b * S, S);
                for (int i = 0; i < D; i++) g[i] = row[i] / s2 * invN;   // −∂log N/∂z
                g[D] = invN;
            }
            return loss * invN;
        });
    }

    /// <summary>
    /// Reverse KL(q‖p) up to p's normaliser for a target energy U (p ∝ e^{−U}), as in Fig. 4: base samples z ([n, d])
    /// are pushed to the data time, and L = mean(log q(x) + U(x)). <paramref name="energy"/> writes U(x) per point and
    /// ∂U/∂x ([n, d]). The θ-gradient goes to <paramref name="gradTheta"/>.
    /// </summary>
    public FlowStep ReverseKl(ReadOnlySpan<T> z, EnergyFunction<T> energy, Span<T> gradTheta, Sensitivity sensitivity, ref Rng rng)
    {
        ArgumentNullException.ThrowIfNull(energy);
        int n = CheckPoints(z);
        if (gradTheta.Length != Theta.Length) throw new ArgumentException($"gradTheta has {gradTheta.Length} elements; θ has {Theta.Length}.", nameof(gradTheta));
        var y0 = InitialStates(z, n, ref rng, TrainStateSize);
        T invN = T.One / T.CreateChecked(n);
        T baseSum = T.Zero;
        int S = TrainStateSize;
        for (int b = 0; b < n; b++) baseSum += BaseLogDensity(z.Slice(b * D, D));
        var u = new T[n];
        var du = new T[n * D];
        var xs = new T[n * D];
        return Differentiate(y0, n, Options.BaseTime, Options.DataTime, sensitivity, gradTheta, (end, grad) =>
        {
            T loss = baseSum;
            for (int b = 0; b < n; b++) end.Slice(b * S, D).CopyTo(xs.AsSpan(b * D, D));
            energy(xs, u, du);
            for (int b = 0; b < n; b++)
            {
                var row = end.Slice(b * S, S);
                loss += row[D] + u[b];
                var g = grad.Slice(b * S, S);
                for (int i = 0; i < D; i++) g[i] = du[b * D + i] * invN;
                g[D] = invN;
            }
            return loss * invN;
        });
    }

    /// <summary>dL/d(final state) writer: fills the gradient rows and returns L.</summary>
    private delegate T FinalLoss(ReadOnlySpan<T> finalStates, Span<T> gradient);

    private FlowStep Differentiate(T[] y0, int n, T from, T to, Sensitivity sensitivity, Span<T> gradTheta, FinalLoss loss)
    {
        ArgumentNullException.ThrowIfNull(sensitivity);
        T[] times = [from, to];
        var options = SolveOptionsFor(TrainStateSize);
        var adjointAware = WithStateGroups(sensitivity);
        int S = TrainStateSize, len = n * S;
        var dL = new T[2 * len];
        T kinetic = T.Zero, jacobian = T.Zero;
        T Loss(ReadOnlySpan<T> end, Span<T> grad)
        {
            T value = loss(end, grad);
            if (!Regularized) return value;
            // E_K, E_J integrate from `from` to `to`; the sign makes them ∫ … |dt| whichever way the solve runs
            T sign = to > from ? T.One : -T.One, invN = T.One / T.CreateChecked(n);
            for (int b = 0; b < n; b++)
            {
                kinetic += end[b * S + StateSize];
                jacobian += end[b * S + StateSize + 1];
                grad[b * S + StateSize] = sign * Options.Kinetic * invN;
                grad[b * S + StateSize + 1] = sign * Options.JacobianFrobenius * invN;
            }
            kinetic *= sign * invN;
            jacobian *= sign * invN;
            return value + Options.Kinetic * kinetic + Options.JacobianFrobenius * jacobian;
        }
        var (value, grads) = (Hutchinson, Regularized) switch
        {
            (true, true) => Run<RegularizedHutchinsonCnf<TField>>(),
            (true, false) => Run<HutchinsonCnf<TField>>(),
            (false, true) => Run<RegularizedExactTraceCnf<TField>>(),
            _ => Run<ExactTraceCnf<TField>>(),
        };
        grads.Theta.CopyTo(gradTheta);
        int baseIndex = Options.BaseTime == from ? 0 : 1;
        return new FlowStep(double.CreateChecked(value), grads.Forward, grads.Backward, () => double.CreateChecked(grads.Times[baseIndex]))
        {
            Kinetic = double.CreateChecked(kinetic), JacobianFrobenius = double.CreateChecked(jacobian),
        };

        (T, OdeGradients<T>) Run<TDyn>() where TDyn : IOdeDynamics<TDyn>
        {
            var fwd = Ode.Forward<TDyn, T>(y0, times, Theta, adjointAware, options);
            T v = Loss(fwd.Solution.States.AsSpan(len, len), dL.AsSpan(len, len));
            var g = fwd.Backward(dL);
            fwd.Recycle();   // nothing outside this step sees fwd: its tape's buffers serve the next step
            return (v, g);
        }
    }

    /// <summary>The adjoint's norm treats [z, Δlog p (, ε)] as torchdiffeq treats a tuple state, unless the caller chose groups.</summary>
    private Sensitivity WithStateGroups(Sensitivity sensitivity) => sensitivity switch
    {
        AdjointSensitivity a when a.Options.StateGroups is null => Sensitivity.Adjoint(new AdjointOptions
        {
            RelTol = a.Options.RelTol, AbsTol = a.Options.AbsTol, Seminorm = a.Options.Seminorm, Method = a.Options.Method,
            StateGroups = TrainGroups, TimeChannelInNorm = a.Options.TimeChannelInNorm,
        }),
        _ => sensitivity,
    };

    private int[] Groups => Hutchinson ? [D, 1, D] : [D, 1];

    /// <summary>The adjoint's groups cover the whole row: the regularisers' pair is one more group (its a-channel is constant, so only h's part adds error).</summary>
    private int[] TrainGroups => Regularized ? [.. Groups, 2] : Groups;

    /// <summary>The caller's options with the mixed norm over [z, Δlog p (, ε)]; regulariser states past them stay out of it (FFJORD: tolerance 1e20).</summary>
    private SolveOptions<T> SolveOptionsFor(int stateSize)
    {
        var o = Options.Solve;
        if (o.Norm is not null) return o;
        return new SolveOptions<T>
        {
            Method = o.Method, RelTol = o.RelTol, AbsTol = o.AbsTol, Norm = FlowNorms.MixedOver<T>(stateSize, Groups),
            Controller = o.Controller, FirstStep = o.FirstStep, FixedStep = o.FixedStep, MinStep = o.MinStep, MaxStep = o.MaxStep,
            MaxSteps = o.MaxSteps, ThrowOnFailure = o.ThrowOnFailure, OvershootFinalTime = o.OvershootFinalTime,
        };
    }

    private Solution<T> SolveAugmented(T[] y0, T[] times, int n)
    {
        var options = SolveOptionsFor(StateSize);
        Solution<T> sol = Hutchinson
            ? Ode.Solve(new DynamicsRhs<HutchinsonCnf<TField>, T>(Theta, n), y0, times, options)
            : Ode.Solve(new DynamicsRhs<ExactTraceCnf<TField>, T>(Theta, n), y0, times, options);
        if (!sol.Succeeded)
            throw new OdeSolveException($"The flow's solve from t = {times[0]} to {times[^1]} failed ({string.Join(", ", sol.Status.Distinct())}); loosen the tolerances or raise MaxSteps.");
        return sol;
    }

    /// <summary>Rows [x, 0] or [x, 0, ε] with ε drawn per row (fixed for the solve).</summary>
    private T[] InitialStates(ReadOnlySpan<T> x, int n, ref Rng rng) => InitialStates(x, n, ref rng, StateSize);

    private T[] InitialStates(ReadOnlySpan<T> x, int n, ref Rng rng, int S)
    {
        var y0 = new T[n * S];
        for (int b = 0; b < n; b++)
        {
            x.Slice(b * D, D).CopyTo(y0.AsSpan(b * S, D));
            if (!Hutchinson) continue;
            for (int i = 0; i < D; i++)
                y0[b * S + D + 1 + i] = Options.Trace == TraceEstimator.Gaussian
                    ? T.CreateChecked(rng.NextGaussian())
                    : (rng.NextUInt64() >> 63) == 0 ? T.One : -T.One;
        }
        return y0;
    }

    private static int CheckPoints(ReadOnlySpan<T> x)
    {
        if (x.IsEmpty || x.Length % D != 0)
            throw new ArgumentException($"Points are [n, {D}] row-major; got {x.Length} values, not a positive multiple of {D}.", nameof(x));
        return x.Length / D;
    }
}

/// <summary>A target energy U for density matching: writes U(x) per point ([n]) and ∂U/∂x ([n, d]).</summary>
public delegate void EnergyFunction<T>(ReadOnlySpan<T> x, Span<T> energy, Span<T> gradient) where T : unmanaged;
