using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Checkpointed adjoint. Forward: the span [t₀, t_N] is cut into <c>checkpoints</c> equal segments, solved one after
/// another, and the state at every segment start is stored. Backward, last segment first: re-solve the segment from its
/// checkpoint with dense output (the same inputs give the same steps, so the same trajectory), then integrate
/// [a, a_θ, a_t] back through it reading h(t) from that interpolant. h is never integrated backwards.
/// </summary>
/// <remarks>
/// Each segment restarts step-size selection, so the forward solution differs from one uninterrupted solve by
/// about the tolerance and costs a few more evaluations; in exchange the backward pass sees exactly the forward's
/// trajectory. Memory: checkpoints + one segment's dense output.
/// </remarks>
internal sealed class CheckpointedAdjointSensitivity(int checkpoints, AdjointOptions options) : Sensitivity
{
    public int Checkpoints { get; } = checkpoints;
    public AdjointOptions Options { get; } = options;

    public override string ToString() => $"checkpointed adjoint ({Checkpoints}){(Options.Seminorm ? " (seminorm)" : "")}";

    /// <summary>Segment k spans [Bounds[k], Bounds[k+1]]; its interior output times are Outputs[First[k] .. First[k+1]).</summary>
    private sealed class Record<T>(T[] bounds, int[] first, T[] states) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] Bounds { get; } = bounds;
        /// <summary>First[k]: index of the first output time strictly after Bounds[k]; First[K] = nTimes.</summary>
        public int[] First { get; } = first;
        /// <summary>[K, batch·S]: the state at every segment start.</summary>
        public T[] States { get; } = states;
    }

    internal override OdeForward<TDynamics, T> Forward<TDynamics, T>(ForwardProblem<T> problem)
    {
        T[] times = problem.Times;
        int nTimes = times.Length, n = problem.Batch * TDynamics.StateSize, k = Checkpoints;
        var bounds = new T[k + 1];
        for (int j = 0; j <= k; j++)
            bounds[j] = j == k ? times[^1] : SnapToOutputTime(times[0] + (times[^1] - times[0]) * T.CreateChecked(j) / T.CreateChecked(k), times);
        var first = new int[k + 1];
        first[k] = nTimes;
        for (int j = k - 1, i = nTimes; j >= 0; j--)
        {
            while (i > 1 && After(times[i - 1], bounds[j], times)) i--;
            first[j] = i;
        }

        var rhs = new DynamicsRhs<TDynamics, T>(problem.Theta, problem.Batch);
        var checkpointStates = new T[k * n];
        var states = new T[nTimes * n];
        problem.InitialState.CopyTo(states, 0);
        var start = problem.InitialState.ToArray();
        var stats = new StatsAccumulator();
        for (int j = 0; j < k; j++)
        {
            start.CopyTo(checkpointStates, j * n);
            var segTimes = SegmentTimes(times, bounds, first, j);
            var sol = Ode.Solve(rhs, start, segTimes, problem.Options);
            AdjointShared.EnsureSucceeded(sol, $"forward solve of segment {j}");
            stats.Add(sol.Stats);
            // Interior outputs and (when it is an output time) the segment end.
            for (int i = first[j]; i < first[j + 1]; i++)
                sol.States.AsSpan((1 + i - first[j]) * n, n).CopyTo(states.AsSpan(i * n, n));
            sol.States.AsSpan((segTimes.Length - 1) * n, n).CopyTo(start);
        }
        var solution = AdjointShared.AssembleSolution(times, states, problem.Batch, TDynamics.StateSize, stats.ToStats());
        return new OdeForward<TDynamics, T>(this, problem, solution, solution.Stats, new Record<T>(bounds, first, checkpointStates));
    }

    internal override OdeGradients<T> Backward<TDynamics, T>(OdeForward<TDynamics, T> forward, ReadOnlySpan<T> dLdStates)
    {
        var problem = forward.Problem;
        var record = (Record<T>)forward.Record!;
        int batch = problem.Batch, n = batch * TDynamics.StateSize, p = TDynamics.ParameterCount;
        var backOptions = AdjointShared.BackwardOptions(problem.Options, Options, AdjointNorms.For<TDynamics, T>([n], Options.Seminorm, Options.StateGroups, Options.TimeChannelInNorm));
        var denseOptions = AdjointShared.ForwardOptions(problem.Options, recordSteps: false, keepDenseOutput: true);
        var forwardRhs = new DynamicsRhs<TDynamics, T>(problem.Theta, batch);
        T[] states = forward.Solution.States, times = problem.Times;

        var z = new T[InterpolatedAdjointRhs<TDynamics, T>.Length(batch)];   // [a, a_θ, a_t]
        var stats = new StatsAccumulator();
        T[] interval = new T[2];
        for (int j = Checkpoints - 1; j >= 0; j--)
        {
            var segTimes = SegmentTimes(times, record.Bounds, record.First, j);
            var segment = Ode.Solve(forwardRhs, record.States.AsSpan(j * n, n), segTimes, denseOptions);
            AdjointShared.EnsureSucceeded(segment, $"re-solve of segment {j}");
            stats.Add(segment.Stats);
            var rhs = new InterpolatedAdjointRhs<TDynamics, T>(problem.Theta, batch, segment);
            // Walk the segment's points from its end down to its start; jump a at every output time on the way.
            for (int q = segTimes.Length - 1; q >= 1; q--)
            {
                int i = OutputIndexOf(record.First, j, q, times, segTimes[q]);
                if (i >= 0) AdjointShared.AddTo(z.AsSpan(0, n), dLdStates.Slice(i * n, n));
                interval[0] = segTimes[q];
                interval[1] = segTimes[q - 1];
                var piece = Ode.Solve(rhs, z, interval, backOptions);
                AdjointShared.EnsureSucceeded(piece, "backward adjoint solve");
                stats.Add(piece.Stats);
                piece.States.AsSpan(piece.States.Length - z.Length, z.Length).CopyTo(z);
            }
        }
        AdjointShared.AddTo(z.AsSpan(0, n), dLdStates.Slice(0, n));
        var timeGradients = OutputTimeGradients.Deferred<TDynamics, T>(problem.Theta, batch, times, states, dLdStates, z[^1]);
        return new OdeGradients<T>(z.AsSpan(0, n).ToArray(), z.AsSpan(n, p).ToArray(), timeGradients, forward.ForwardStats, stats.ToStats());
    }

    /// <summary>A bound within rounding of an output time becomes that time, so no segment is a sliver of a few ulps.</summary>
    private static T SnapToOutputTime<T>(T bound, T[] times) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T tolerance = T.Abs(times[^1] - times[0]) * T.CreateChecked(1e-9);
        foreach (T t in times)
            if (T.Abs(t - bound) <= tolerance) return t;
        return bound;
    }

    /// <summary>Whether <paramref name="t"/> lies strictly after <paramref name="bound"/> in the direction of integration.</summary>
    private static bool After<T>(T t, T bound, T[] times) where T : unmanaged, IFloatingPointIeee754<T>
        => times[^1] > times[0] ? t > bound : t < bound;

    /// <summary>[Bounds[j], interior output times, Bounds[j+1]]; the end bound is an output time only for the last segment.</summary>
    private static T[] SegmentTimes<T>(T[] times, T[] bounds, int[] first, int j) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inner = first[j + 1] - first[j];
        bool endIsOutput = inner > 0 && times[first[j + 1] - 1] == bounds[j + 1];
        var seg = new T[inner + (endIsOutput ? 1 : 2)];
        seg[0] = bounds[j];
        Array.Copy(times, first[j], seg, 1, inner);
        seg[^1] = bounds[j + 1];
        return seg;
    }

    /// <summary>The output index of segment point q, or −1 for a checkpoint bound that is not an output time.</summary>
    private static int OutputIndexOf<T>(int[] first, int j, int q, T[] times, T t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = first[j] + q - 1;
        return i < first[j + 1] && times[i] == t ? i : -1;
    }
}
