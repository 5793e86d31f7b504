using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl;

/// <summary>
/// The adjoint of a per-sample-times solve with per-sample stepping. Every sample's [h, a] (2·StateSize numbers) is
/// integrated backwards from its own last output time to t₀, stopping only at its own times, where its cotangent is
/// added and its h restarted from the forward's value; each of those intervals is one solve with its own first-step
/// selection and fresh controller state, as <see cref="AdjointSensitivity"/> does for the sample alone. So every row
/// takes the step sequence it would take solved alone (with the seminorm), while f and its VJP are evaluated for all
/// running rows in one batched call.
/// </summary>
/// <remarks>
/// <para>Rows advance by a state machine: each batched call serves every running row's next evaluation, whatever it is
/// (an interval's first f, the first-step probe, a stage, the step end of a non-FSAL tableau), so no call waits for the
/// other rows' stops. A row's evaluation count equals its count solved alone; the number of calls is the largest of them.</para>
/// <para>dL/dθ: a_θ feeds nothing back, so it is not carried in the rows: the generated VJP sums the parameter gradient
/// over the rows of a call, and per-row a_θ (as the full norm would need it) would take per-sample parameter gradients,
/// while a rejected step of one row must not contribute. Instead, each ACCEPTED step's stages of nonzero weight are
/// recorded, and their parameter VJPs with cotangent −(h·b_i)·a_i (the RK quadrature of ∫ −aᵀ∂f/∂θ dt, exactly what an
/// integrated a_θ accumulates) are summed in large batched calls. Error control therefore covers h and a only: the
/// seminorm (Kidger, Chen &amp; Lyons, ICML 2021), whatever <see cref="AdjointOptions.Seminorm"/> says. The backward
/// steps never overshoot a stop. dL/dtᵢ is not computed.</para>
/// </remarks>
internal sealed class SampleTimesAdjoint<TDynamics, T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private enum Phase : byte { First, Probe, Stage, End, Done }

    private readonly SampleTimes<T> _times;
    private readonly T[] _theta, _states;
    private readonly SolveOptions<T> _o;
    private readonly int[]? _groups;
    private readonly int S, Z, s, slots, fEnd, order;
    private readonly bool fsal, adaptive;
    private readonly T[] c, a, bw, e;
    private readonly T[]? eLow;
    private readonly T rtol, atol;
    private readonly StepSizeController _controller;

    // Per row.
    private readonly Phase[] _phase;
    private readonly int[] _stage, _index, _attempts, _streak;
    private readonly T[] _t, _target, _h, _hStep, _z, _yNew, _k, _in, _stageIn, _stageT, _tReq, _scratch, _result;
    private readonly double[] _prevRatio, _ratio, _h0, _d1;
    private readonly long[] _nfe;

    // One batched call over the running rows.
    private readonly int[] _live;
    private readonly T[] _callT, _callH, _callMinusA, _callDh, _callDa, _callGradT, _thetaScratch, _workspace;

    // Recorded stages of accepted steps, flushed into dL/dθ in batches of _capacity.
    private readonly int _capacity;
    private readonly T[] _recT, _recH, _recCot, _recGradH, _recGradT;
    private int _recorded;
    private T[] _cot = [];   // the loss cotangents of one Run, ragged order
    private readonly T[] _gradTheta;
    private long _calls, _accepted, _rejected;

    public SampleTimesAdjoint(SampleTimes<T> times, T[] theta, T[] forwardStates, SolveOptions<T> backward, int[]? stateGroups)
    {
        if ((backward.Method as RungeKuttaMethod)?.Tableau is not { } tab)
            throw new NotSupportedException($"The per-sample adjoint needs a Runge-Kutta method for its backward solve, not {backward.Method.Name}; " +
                                            "set AdjointOptions.Method (e.g. Methods.Dopri5).");
        (_times, _theta, _states, _o, _groups) = (times, theta, forwardStates, backward, stateGroups);
        S = TDynamics.StateSize; Z = 2 * S; s = tab.Stages; slots = s + 1; fsal = tab.Fsal; fEnd = fsal ? s - 1 : s;
        adaptive = tab.IsAdaptive; order = tab.Order;
        c = new T[s]; a = new T[s * s]; bw = new T[s]; e = new T[s];
        for (int i = 0; i < s; i++)
        {
            c[i] = T.CreateChecked(tab.C[i]); bw[i] = T.CreateChecked(tab.B[i]);
            if (adaptive) e[i] = T.CreateChecked(tab.BError![i]);
            for (int j = 0; j < i; j++) a[i * s + j] = T.CreateChecked(tab.A[i][j]);
        }
        eLow = tab.BErrorLow is { } el ? Array.ConvertAll(el, T.CreateChecked) : null;
        rtol = backward.RelTol; atol = backward.AbsTol;
        _controller = backward.Controller ?? StepSizeController.I;

        int B = times.Batch;
        _phase = new Phase[B]; _stage = new int[B]; _index = new int[B]; _attempts = new int[B]; _streak = new int[B];
        _t = new T[B]; _target = new T[B]; _h = new T[B]; _hStep = new T[B]; _tReq = new T[B];
        _z = new T[B * Z]; _yNew = new T[B * Z]; _k = new T[B * slots * Z]; _in = new T[B * Z]; _scratch = new T[Z]; _result = new T[Z];
        _stageIn = new T[B * s * Z]; _stageT = new T[B * s];
        _prevRatio = new double[B]; _ratio = new double[B]; _h0 = new double[B]; _d1 = new double[B]; _nfe = new long[B];
        _live = new int[B];
        _callT = new T[B]; _callH = new T[B * S]; _callMinusA = new T[B * S]; _callDh = new T[B * S]; _callDa = new T[B * S];
        _callGradT = new T[B]; _thetaScratch = new T[TDynamics.ParameterCount];
        _capacity = Math.Clamp(4 * B, 64, 4096);
        _recT = new T[_capacity]; _recH = new T[_capacity * S]; _recCot = new T[_capacity * S];
        _recGradH = new T[_capacity * S]; _recGradT = new T[_capacity];
        _workspace = new T[TDynamics.WorkspaceLength(Math.Max(B, _capacity))];
        _gradTheta = new T[TDynamics.ParameterCount];
    }

    /// <summary>Each row's evaluations of the augmented system (tests compare them with solving the sample alone).</summary>
    public long[] RowEvaluations => _nfe;

    /// <summary>Runs the backward pass for cotangents <paramref name="g"/> in the ragged order; returns (dL/dy₀, dL/dθ, stats).</summary>
    public (T[] InitialState, T[] Theta, SolverStats Stats) Run(ReadOnlySpan<T> g)
    {
        int B = _times.Batch;
        var yBar = new T[B * S];
        _cot = g.ToArray();
        _gradTheta.AsSpan().Clear(); _nfe.AsSpan().Clear(); _calls = _accepted = _rejected = 0; _recorded = 0;
        for (int b = 0; b < B; b++)
        {
            int first = _times.Offset(b), last = _times.Offset(b + 1) - 1;
            _phase[b] = Phase.Done;
            if (last < first) continue;           // no times: no cotangent, nothing to integrate
            _index[b] = last;
            _t[b] = _times.All[last];
            _states.AsSpan(last * S, S).CopyTo(_z.AsSpan(b * Z, S));
            _cot.AsSpan(last * S, S).CopyTo(_z.AsSpan(b * Z + S, S));
            StartInterval(b);
        }
        while (true)
        {
            int live = 0;
            for (int b = 0; b < B; b++) if (_phase[b] != Phase.Done) _live[live++] = b;
            if (live == 0) break;
            Evaluate(live);
            for (int q = 0; q < live; q++) Advance(q, _live[q]);
        }
        FlushRecords();
        for (int b = 0; b < B; b++) _z.AsSpan(b * Z + S, S).CopyTo(yBar.AsSpan(b * S, S));
        return (yBar, (T[])_gradTheta.Clone(), new SolverStats(_calls, _accepted, _rejected));
    }

    /// <summary>Sets the row's next interval [t, previous own time or t₀], or finishes it at t₀.</summary>
    private void StartInterval(int b)
    {
        int first = _times.Offset(_times.SampleOf(_index[b]));
        _target[b] = _index[b] > first ? _times.All[_index[b] - 1] : _times.Start;
        if (_target[b] == _t[b]) { _phase[b] = Phase.Done; return; }   // the row's first time is t₀
        _prevRatio[b] = 1; _attempts[b] = 0; _streak[b] = 0;
        Request(b, Phase.First, _t[b], _z.AsSpan(b * Z, Z));
    }

    private void Request(int b, Phase phase, T t, ReadOnlySpan<T> input)
    {
        _phase[b] = phase; _tReq[b] = t;
        input.CopyTo(_in.AsSpan(b * Z, Z));
    }

    private void Evaluate(int live)
    {
        for (int q = 0; q < live; q++)
        {
            int b = _live[q];
            _callT[q] = _tReq[b];
            _in.AsSpan(b * Z, S).CopyTo(_callH.AsSpan(q * S, S));
            TensorPrimitives.Negate<T>(_in.AsSpan(b * Z + S, S), _callMinusA.AsSpan(q * S, S));
        }
        int n = live * S;
        _thetaScratch.AsSpan().Clear();   // the stage calls' parameter sums are not used (see remarks)
        TDynamics.EvaluateAndVectorJacobianProduct<T>(_callT.AsSpan(0, live), _callH.AsSpan(0, n), _theta, _callMinusA.AsSpan(0, n),
            _callDh.AsSpan(0, n), _callDa.AsSpan(0, n), _thetaScratch, _callGradT.AsSpan(0, live), live, _workspace);
        _calls++;
    }

    /// <summary>Stores the row's result (slot q of the call) and moves the row on to its next request.</summary>
    private void Advance(int q, int b)
    {
        _nfe[b]++;
        var result = _result.AsSpan();
        _callDh.AsSpan(q * S, S).CopyTo(result);
        _callDa.AsSpan(q * S, S).CopyTo(result[S..]);
        switch (_phase[b])
        {
            case Phase.First:
                result.CopyTo(K(b, 0));
                if (adaptive) RequestProbe(b);
                else { _h[b] = Direction(b) * T.Min(_o.FixedStep!.Value, _o.MaxStep); BeginAttempt(b); }
                break;
            case Phase.Probe:
                SelectFirstStep(b, result);
                BeginAttempt(b);
                break;
            case Phase.Stage:
                result.CopyTo(K(b, _stage[b]));
                if (_stage[b] + 1 < s) RequestStage(b, _stage[b] + 1);
                else FinishStages(b);
                break;
            case Phase.End:
                result.CopyTo(K(b, s));
                CompleteStep(b);
                break;
        }
    }

    private Span<T> K(int b, int slot) => _k.AsSpan((b * slots + slot) * Z, Z);

    private T Direction(int b) => _target[b] > _t[b] ? T.One : -T.One;

    /// <summary>First half of the first-step selection (Hairer, Nørsett &amp; Wanner I, II.4, as RungeKuttaSolver's):
    /// d0 = ‖y/sc‖, d1 = ‖f0/sc‖, h0 = 0.01·d0/d1 capped at the interval, and the Euler probe at t + h0.</summary>
    private void RequestProbe(int b)
    {
        var z = _z.AsSpan(b * Z, Z);
        var f0 = K(b, 0);
        double d0 = ScaledNorm(z, z, default, false), d1 = ScaledNorm(f0, z, default, false);
        double hh = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        hh = Math.Min(hh, double.CreateChecked(T.Abs(_target[b] - _t[b])));
        _h0[b] = hh; _d1[b] = d1;
        T ht = T.CreateChecked(hh) * Direction(b);
        var probe = _yNew.AsSpan(b * Z, Z);   // free until the first stage combination
        for (int i = 0; i < Z; i++) probe[i] = z[i] + ht * f0[i];
        Request(b, Phase.Probe, _t[b] + ht, probe);
    }

    /// <summary>Second half: d2 = ‖(f1 − f0)/sc‖/h0, h1 = (0.01/max(d1, d2))^(1/order), h = min(100 h0, h1), capped by MaxStep.</summary>
    private void SelectFirstStep(int b, ReadOnlySpan<T> f1)
    {
        var z = _z.AsSpan(b * Z, Z);
        double h0 = _h0[b], d1 = _d1[b];
        double d2 = ScaledNorm(f1, z, K(b, 0), true) / h0;
        double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / Math.Max(d1, d2), 1.0 / order);
        T dir = Direction(b);
        T h = T.CreateChecked(Math.Min(100 * h0, h1)) * dir;
        _h[b] = dir * T.Min(T.Abs(h), _o.MaxStep);
    }

    private double ScaledNorm(ReadOnlySpan<T> v, ReadOnlySpan<T> y, ReadOnlySpan<T> sub, bool diff)
    {
        var sc = _scratch.AsSpan();
        for (int i = 0; i < Z; i++) sc[i] = (diff ? v[i] - sub[i] : v[i]) / (atol + T.Abs(y[i]) * rtol);
        return double.CreateChecked(RowNorm(sc));
    }

    /// <summary>The seminorm of one row: the largest RMS over the channels h and a (one per state group when given).</summary>
    private T RowNorm(ReadOnlySpan<T> scaled)
    {
        T max = T.Zero;
        for (int block = 0; block < 2; block++)
        {
            var part = scaled.Slice(block * S, S);
            if (_groups is null) max = T.Max(max, T.Sqrt(TensorPrimitives.SumOfSquares(part) / T.CreateChecked(S)));
            else
                for (int g = 0, start = 0; g < _groups.Length; start += _groups[g], g++)
                    max = T.Max(max, T.Sqrt(TensorPrimitives.SumOfSquares(part.Slice(start, _groups[g])) / T.CreateChecked(_groups[g])));
        }
        return max;
    }

    /// <summary>A step attempt from the row's t with its proposed h, clipped to the interval's end.</summary>
    private void BeginAttempt(int b)
    {
        if (_attempts[b]++ >= _o.MaxSteps) Fail(b, SolveStatus.MaxStepsReached);
        T rest = _target[b] - _t[b];
        _hStep[b] = T.Abs(_h[b]) >= T.Abs(rest) ? rest : _h[b];
        _z.AsSpan(b * Z, Z).CopyTo(_stageIn.AsSpan(b * s * Z, Z));
        _stageT[b * s] = _t[b];
        if (s > 1) RequestStage(b, 1);
        else FinishStages(b);
    }

    private void RequestStage(int b, int i)
    {
        var input = _stageIn.AsSpan((b * s + i) * Z, Z);
        Combine(b, a.AsSpan(i * s, i), input);
        _stageT[b * s + i] = _t[b] + c[i] * _hStep[b];
        _stage[b] = i;
        Request(b, Phase.Stage, _stageT[b * s + i], input);
    }

    /// <summary>dst = z + h Σ_j w_j k_j for the row.</summary>
    private void Combine(int b, ReadOnlySpan<T> w, Span<T> dst)
    {
        _z.AsSpan(b * Z, Z).CopyTo(dst);
        for (int j = 0; j < w.Length; j++)
            if (w[j] != T.Zero) TensorPrimitives.MultiplyAdd<T>(K(b, j), _hStep[b] * w[j], dst, dst);
    }

    /// <summary>All stages evaluated: the solution and its error, then accept or reject (as RungeKuttaSolver does per row).</summary>
    private void FinishStages(int b)
    {
        var yNew = _yNew.AsSpan(b * Z, Z);
        Combine(b, bw, yNew);
        double ratio = 0;
        if (adaptive)
        {
            ratio = ErrorRatio(b, e);
            if (eLow is not null)
            {
                // DOP853: r = r₁² / √(r₁² + 0.01 r₂²).
                double r2 = ErrorRatio(b, eLow), r1 = ratio * ratio, den = Math.Sqrt(r1 + 0.01 * r2 * r2);
                ratio = den > 0 ? r1 / den : r1;
            }
        }
        _ratio[b] = ratio;
        bool finite = AllFinite(yNew) && (!adaptive || double.IsFinite(ratio));
        if (!finite)
        {
            _rejected++;
            if (!adaptive || ++_streak[b] > 10) Fail(b, SolveStatus.NonFiniteState);
            _h[b] = _hStep[b] * T.CreateChecked(0.2);
            if (T.Abs(_h[b]) < _o.MinStep || _t[b] + _h[b] == _t[b]) Fail(b, SolveStatus.NonFiniteState);
            BeginAttempt(b);
            return;
        }
        _streak[b] = 0;
        if (adaptive && ratio > 1)
        {
            _rejected++;
            NextStep(b, accepted: false);
            BeginAttempt(b);
            return;
        }
        _accepted++;
        Record(b);
        if (fsal) CompleteStep(b);
        else Request(b, Phase.End, StepEnd(b), yNew);
    }

    private double ErrorRatio(int b, T[] w)
    {
        var err = _scratch.AsSpan();
        err.Clear();
        for (int i = 0; i < s; i++)
            if (w[i] != T.Zero) TensorPrimitives.MultiplyAdd<T>(K(b, i), _hStep[b] * w[i], err, err);
        var z = _z.AsSpan(b * Z, Z);
        var yNew = _yNew.AsSpan(b * Z, Z);
        for (int j = 0; j < Z; j++) err[j] /= atol + rtol * T.Max(T.Abs(z[j]), T.Abs(yNew[j]));
        return double.CreateChecked(RowNorm(err));
    }

    private static bool AllFinite(ReadOnlySpan<T> v)
    {
        foreach (var x in v) if (!T.IsFinite(x)) return false;
        return true;
    }

    private T StepEnd(int b) => T.Abs(_hStep[b]) >= T.Abs(_target[b] - _t[b]) ? _target[b] : _t[b] + _hStep[b];

    /// <summary>An accepted step: the row moves to its end; at the interval's end the next own time's cotangent comes in.</summary>
    private void CompleteStep(int b)
    {
        T tNew = StepEnd(b);
        _yNew.AsSpan(b * Z, Z).CopyTo(_z.AsSpan(b * Z, Z));
        K(b, fEnd).CopyTo(K(b, 0));
        _t[b] = tNew;
        if (tNew == _target[b])
        {
            int first = _times.Offset(_times.SampleOf(_index[b]));
            if (_index[b] == first) { _phase[b] = Phase.Done; return; }   // at t₀
            int o = --_index[b];
            AdjointShared.AddTo(_z.AsSpan(b * Z + S, S), _cot.AsSpan(o * S, S));
            // Restart h from the forward's estimate (backwards integration of h drifts), as AdjointSensitivity does.
            _states.AsSpan(o * S, S).CopyTo(_z.AsSpan(b * Z, S));
            StartInterval(b);
            return;
        }
        NextStep(b, accepted: true);
        BeginAttempt(b);
    }

    private void NextStep(int b, bool accepted)
    {
        if (!adaptive) return;
        double f = _controller.Factor(_ratio[b], _prevRatio[b], order, accepted);
        if (accepted) _prevRatio[b] = _ratio[b];
        T hn = _hStep[b] * T.CreateChecked(f);
        if (T.Abs(hn) > _o.MaxStep) hn = Direction(b) * _o.MaxStep;
        _h[b] = hn;
        if (T.Abs(hn) < _o.MinStep || _t[b] + hn == _t[b]) Fail(b, SolveStatus.StepSizeUnderflow);
    }

    /// <summary>The accepted step's stages of nonzero weight, for dL/dθ: cotangent −(h·b_i)·a_i at (t_i, h_i).</summary>
    private void Record(int b)
    {
        for (int i = 0; i < s; i++)
        {
            if (bw[i] == T.Zero) continue;
            if (_recorded == _capacity) FlushRecords();
            int r = _recorded++;
            var input = _stageIn.AsSpan((b * s + i) * Z, Z);
            _recT[r] = _stageT[b * s + i];
            input[..S].CopyTo(_recH.AsSpan(r * S, S));
            TensorPrimitives.Multiply<T>(input[S..], -(_hStep[b] * bw[i]), _recCot.AsSpan(r * S, S));
        }
    }

    private void FlushRecords()
    {
        if (_recorded == 0) return;
        int n = _recorded * S;
        TDynamics.VectorJacobianProduct<T>(_recT.AsSpan(0, _recorded), _recH.AsSpan(0, n), _theta, _recCot.AsSpan(0, n),
            _recGradH.AsSpan(0, n), _gradTheta, _recGradT.AsSpan(0, _recorded), _recorded, _workspace);
        _recorded = 0;
    }

    private void Fail(int b, SolveStatus status) => throw new OdeSolveException(
        $"The per-sample backward adjoint solve failed for sample {b}: {status} at t = {_t[b]} with step size {_hStep[b]}; " +
        "loosen the tolerances, raise MaxSteps or check the dynamics for blow-up.");
}
