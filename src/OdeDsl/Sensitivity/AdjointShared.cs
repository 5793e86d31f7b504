using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl;

/// <summary>Pieces shared by the adjoint modes.</summary>
internal static class AdjointShared
{
    /// <summary>The backward solve's options: the adjoint's own method and tolerances, the channel norm, final state only.</summary>
    public static SolveOptions<T> BackwardOptions<T>(SolveOptions<T> forward, AdjointOptions adjoint, ErrorNorm<T> norm)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var method = adjoint.Method ?? forward.Method;
        if (!method.IsAdaptive && forward.FixedStep is null)
            throw new ArgumentException(
                $"The backward solve uses {method.Name}, a fixed-step method, with the forward's SolveOptions.FixedStep, which is not set.");
        return new()
        {
            Method = method,
            RelTol = adjoint.RelTol is double r ? T.CreateChecked(r) : forward.RelTol,
            AbsTol = adjoint.AbsTol is double a ? T.CreateChecked(a) : forward.AbsTol,
            // Per-component tolerances describe the forward state's components, not the augmented state's: not carried over.
            Norm = norm,
            Controller = forward.Controller,
            FixedStep = forward.FixedStep,
            MinStep = forward.MinStep,
            MaxStep = forward.MaxStep,
            MaxSteps = forward.MaxSteps,
            Output = OutputMode.FinalOnly,
            OvershootFinalTime = forward.OvershootFinalTime, // torchdiffeq's backward solve overshoots too
        };
    }

    /// <summary>The forward options with the accepted steps recorded (backprop's replay) or the dense output kept (a checkpoint segment's re-solve).</summary>
    public static SolveOptions<T> ForwardOptions<T>(SolveOptions<T> o, bool recordSteps, bool keepDenseOutput)
        where T : unmanaged, IFloatingPointIeee754<T> => new()
        {
            Method = o.Method, RelTol = o.RelTol, AbsTol = o.AbsTol,
            RelTolPerComponent = o.RelTolPerComponent, AbsTolPerComponent = o.AbsTolPerComponent,
            Norm = o.Norm, Controller = o.Controller, FirstStep = o.FirstStep, FixedStep = o.FixedStep,
            MinStep = o.MinStep, MaxStep = o.MaxStep, MaxSteps = o.MaxSteps, StepMode = o.StepMode,
            Output = OutputMode.AtTimes, RecordSteps = recordSteps, KeepDenseOutput = keepDenseOutput,
            OvershootFinalTime = o.OvershootFinalTime,
        };

    /// <summary>target += source (SIMD).</summary>
    public static void AddTo<T>(Span<T> target, ReadOnlySpan<T> source) where T : unmanaged, IFloatingPointIeee754<T>
        => TensorPrimitives.Add(target, source, target);

    /// <summary>A successful solution made of states computed piece by piece.</summary>
    public static Solution<T> AssembleSolution<T>(T[] times, T[] states, int batch, int stateSize, SolverStats stats)
        where T : unmanaged, IFloatingPointIeee754<T> => new()
        {
            Batch = batch,
            StateSize = stateSize,
            Times = (T[])times.Clone(),
            States = states,
            Status = Enumerable.Repeat(SolveStatus.Success, batch).ToArray(),
            OutputsReached = Enumerable.Repeat(times.Length, batch).ToArray(),
            FinalTime = Enumerable.Repeat(times[^1], batch).ToArray(),
            Stats = stats,
        };

    public static void EnsureSucceeded<T>(Solution<T> solution, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!solution.Succeeded)
            throw new OdeSolveException(
                $"The {what} failed ({string.Join(", ", solution.Status.Distinct())}, stopped at t = {solution.FinalTime[0]}); " +
                "loosen the tolerances, raise MaxSteps or check the dynamics for blow-up.");
    }
}

/// <summary>Sums SolverStats of several solves.</summary>
internal sealed class StatsAccumulator
{
    public long Evaluations, Accepted, Rejected;

    public void Add(SolverStats s)
    {
        Evaluations += s.FunctionEvaluations;
        Accepted += s.AcceptedSteps;
        Rejected += s.RejectedSteps;
    }

    public SolverStats ToStats() => new(Evaluations, Accepted, Rejected);
}

/// <summary>
/// dL/dtᵢ for the adjoint modes, computed after the backward pass. For i ≥ 1, dL/dtᵢ = Σ_b gᵢᵀ f(h(tᵢ), tᵢ): moving an output
/// time moves the observed state along f. For t₀: the a_t channel, integrated without jumps, holds ∫ −aᵀ∂f/∂t; moving t₀
/// also shortens every interval, which subtracts Σ_{i≥1} dL/dtᵢ (the jumps Algorithm 1 would have applied to a_t).
/// </summary>
internal static class OutputTimeGradients
{
    public static Func<T[]> Deferred<TDynamics, T>(T[] theta, int batch, T[] times, T[] states, ReadOnlySpan<T> dLdStates, T aT)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = dLdStates.ToArray();
        return () => Compute<TDynamics, T>(theta, batch, times, states, g, aT);
    }

    private static T[] Compute<TDynamics, T>(T[] theta, int batch, T[] times, T[] states, T[] dLdStates, T aT)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = batch * TDynamics.StateSize;
        var rowTimes = new T[batch];
        var f = new T[n];
        var workspace = new T[TDynamics.WorkspaceLength(batch)];
        var result = new T[times.Length];
        T sum = T.Zero;
        for (int i = 1; i < times.Length; i++)
        {
            ReadOnlySpan<T> g = dLdStates.AsSpan(i * n, n);
            if (!g.ContainsAnyExcept(T.Zero)) continue;
            rowTimes.AsSpan().Fill(times[i]);
            TDynamics.Evaluate(rowTimes, states.AsSpan(i * n, n), theta, f, batch, workspace);
            T dot = T.Zero;
            for (int k = 0; k < n; k++) dot += g[k] * f[k];
            result[i] = dot;
            sum += dot;
        }
        result[0] = aT - sum;
        return result;
    }
}
