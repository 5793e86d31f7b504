using System.Numerics;

namespace OdeDsl;

/// <summary>Backsolve adjoint: h is integrated backwards alongside [a, a_θ, a_t] from the final state.</summary>
internal sealed class AdjointSensitivity(AdjointOptions options) : Sensitivity
{
    public AdjointOptions Options { get; } = options;

    public override string ToString() => Options.Seminorm ? "adjoint (seminorm)" : "adjoint";

    internal override OdeForward<TDynamics, T> Forward<TDynamics, T>(ForwardProblem<T> problem)
    {
        var rhs = new DynamicsRhs<TDynamics, T>(problem.Theta, problem.Batch);
        var solution = Ode.Solve(rhs, problem.InitialState, problem.Times, problem.Options);
        AdjointShared.EnsureSucceeded(solution, "forward solve");
        return new OdeForward<TDynamics, T>(this, problem, solution, solution.Stats, record: null);
    }

    internal override OdeGradients<T> Backward<TDynamics, T>(OdeForward<TDynamics, T> forward, ReadOnlySpan<T> dLdStates)
    {
        var problem = forward.Problem;
        int batch = problem.Batch, n = batch * TDynamics.StateSize, p = TDynamics.ParameterCount, nTimes = problem.Times.Length;
        var backOptions = AdjointShared.BackwardOptions(problem.Options, Options, AdjointNorms.For<TDynamics, T>([n, n], Options.Seminorm, Options.StateGroups, Options.TimeChannelInNorm));
        var rhs = new AugmentedRhs<TDynamics, T>(problem.Theta, batch);
        T[] states = forward.Solution.States;

        // z = [h, a, a_θ, a_t], starting at t_N with h from the forward solve and a = dL/dh(t_N).
        var z = SolverScratch<T>.Rent(AugmentedRhs<TDynamics, T>.Length(batch)); // cleared; kept across steps, as the solver's arrays
        states.AsSpan((nTimes - 1) * n, n).CopyTo(z);
        var stats = new StatsAccumulator();
        T[] interval = new T[2];
        for (int i = nTimes - 1; i >= 1; i--)
        {
            ReadOnlySpan<T> g = dLdStates.Slice(i * n, n);
            AdjointShared.AddTo(z.AsSpan(n, n), g);

            interval[0] = problem.Times[i];
            interval[1] = problem.Times[i - 1];
            var piece = Ode.Solve(rhs, z, interval, backOptions);
            AdjointShared.EnsureSucceeded(piece, "backward adjoint solve");
            stats.Add(piece.Stats);
            piece.States.AsSpan(piece.States.Length - z.Length, z.Length).CopyTo(z);
            // Nothing else holds the piece: its two state arrays go back for the next step's solves.
            SolverScratch<T>.Return(piece.States);
            if (!ReferenceEquals(piece.FinalStates, piece.States)) SolverScratch<T>.Return(piece.FinalStates);
            // Restart h from the forward's estimate: backwards integration of h drifts (torchdiffeq does the same).
            states.AsSpan((i - 1) * n, n).CopyTo(z);
        }
        AdjointShared.AddTo(z.AsSpan(n, n), dLdStates.Slice(0, n));
        var times = OutputTimeGradients.Deferred<TDynamics, T>(problem.Theta, batch, problem.Times, states, dLdStates, z[^1]);
        var gradients = new OdeGradients<T>(z.AsSpan(n, n).ToArray(), z.AsSpan(2 * n, p).ToArray(), times, forward.ForwardStats, stats.ToStats());
        rhs.ReturnBuffers();
        SolverScratch<T>.Return(z);
        return gradients;
    }
}
