using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The one explicit Runge-Kutta loop, specialised by the JIT per right-hand side type and number type.
/// Every row carries its own t, step size and status; in shared mode all live rows move together with one step
/// size and one accept/reject decision from the error norm over all of them (torchdiffeq), in per-sample mode each
/// row decides alone (torchode). f is always evaluated for the whole batch; finished rows are frozen (step 0).
/// Workspace is allocated (or taken from <see cref="SolverScratch{T}"/>) once per solve; the step loop allocates nothing.
/// </summary>
internal static class RungeKuttaSolver<TRhs, T>
    where TRhs : IOdeRhs<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static Solution<T> Solve(ButcherTableau tab, TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> o)
    {
        int S = rhs.StateSize, B = y0.Length / S, n = y0.Length, s = tab.Stages, slots = tab.DenseSlots, nDense = tab.DenseC.Length;
        bool shared = o.StepMode == BatchStepMode.Shared, adaptive = tab.IsAdaptive, fsal = tab.Fsal;
        bool finalOnly = o.Output == OutputMode.FinalOnly, overshoot = o.OvershootFinalTime;
        int fEnd = fsal ? s - 1 : s; // slot holding f(t_{n+1}, y_{n+1}) after an accepted step
        T tStart = times[0], tEnd = times[^1];
        T dir = tEnd > tStart ? T.One : -T.One;

        // Coefficients in T.
        var c = new T[s]; var a = new T[s * s]; var bw = new T[s]; var e = new T[s];
        for (int i = 0; i < s; i++)
        {
            c[i] = T.CreateChecked(tab.C[i]); bw[i] = T.CreateChecked(tab.B[i]);
            if (adaptive) e[i] = T.CreateChecked(tab.BError![i]);
            for (int j = 0; j < i; j++) a[i * s + j] = T.CreateChecked(tab.A[i][j]);
        }
        // Optional extras: a second (lower-order) error estimate and the interpolant's extra stages (dopri8).
        var eLow = tab.BErrorLow is { } el ? Array.ConvertAll(el, T.CreateChecked) : null;
        var cD = Array.ConvertAll(tab.DenseC, T.CreateChecked);
        var aD = new T[nDense * slots];
        for (int j = 0; j < nDense; j++)
            for (int i = 0; i < s + 1 + j; i++) aD[j * slots + i] = T.CreateChecked(tab.DenseA[j][i]);
        // One element each for uniform tolerances: the adjoint's backward solve is one row of 665,000 floats (MNIST), and
        // S-long copies of one number were 5 MB of fresh pages, faulted in and filled on the solver's thread every solve.
        bool uniformTol = o.RelTolPerComponent is null && o.AbsTolPerComponent is null;
        int tolLength = uniformTol ? 1 : S;
        var rtol = new T[tolLength]; var atol = new T[tolLength];
        for (int i = 0; i < tolLength; i++)
        {
            rtol[i] = o.RelTolPerComponent?[i] ?? o.RelTol;
            atol[i] = o.AbsTolPerComponent?[i] ?? o.AbsTol;
        }

        // Workspace.
        // The internal arrays come from SolverScratch (given back at the end). y escapes as the final states: it comes
        // from SolverScratch too, so that a caller done with the solution (the adjoint's backward pieces) can give it back
        // instead of the next solve faulting in fresh pages on this thread.
        var y = SolverScratch<T>.Rent(n); y0.CopyTo(y);
        var yNew = SolverScratch<T>.Rent(n); var stage = SolverScratch<T>.Rent(n);
        var k = SolverScratch<T>.Rent(slots * n); var scaled = SolverScratch<T>.Rent(n);
        var scaledLow = eLow is null ? null : SolverScratch<T>.Rent(n); var ratioLow = eLow is null ? null : new double[B];
        var tDense = nDense > 0 ? new T[B] : null; var hDense = nDense > 0 ? new T[B] : null;
        var tRow = new T[B]; var tStage = new T[B]; var h = new T[B]; var hStep = new T[B];
        var active = new bool[B]; var accept = new bool[B]; var ratio = new double[B]; var prevRatio = new double[B];
        var status = new SolveStatus[B]; var outIdx = new int[B]; var eventIndex = new int[B];
        var nfe = new long[B]; var nacc = new long[B]; var nrej = new long[B]; var nonFiniteStreak = new int[B];
        var wD = new double[slots]; var coef = new T[slots];
        int nOut = finalOnly ? 1 : times.Length;
        // Not cleared: every output is written on the way or set to NaN at the end (16 MB at 1000 times × batch 1024).
        var states = finalOnly ? SolverScratch<T>.Rent(n) : GC.AllocateUninitializedArray<T>(nOut * n);
        var outTimes = finalOnly ? new[] { tEnd } : times.ToArray();
        var events = o.Events; int nEv = events?.Count ?? 0;
        T[] evY = nEv > 0 ? new T[S] : []; // the state at an event: only with events (S floats of fresh pages otherwise)
        var gPrev = new T[B * Math.Max(nEv, 1)];
        var controller = o.Controller ?? StepSizeController.I;
        var steps = o.RecordSteps ? new List<StepRecord<T>>() : null;
        var dense = o.KeepDenseOutput ? new DenseOutput<T>(tab, n) : null;
        long totalNfe = 0, sharedAcc = 0, sharedRej = 0;

        for (int b = 0; b < B; b++)
        {
            tRow[b] = tStart; active[b] = true; eventIndex[b] = -1; prevRatio[b] = 1; outIdx[b] = 1;
            if (!finalOnly) y.AsSpan(b * S, S).CopyTo(states.AsSpan(b * S, S));
            for (int ev = 0; ev < nEv; ev++) gPrev[b * nEv + ev] = events![ev](tStart, y.AsSpan(b * S, S));
        }

        // f0 (the first stage of the first step).
        tStage.AsSpan().Fill(tStart);
        Eval(ref rhs, tStage, y, k.AsSpan(0, n), B); totalNfe++;
        for (int b = 0; b < B; b++) nfe[b]++;

        // First step.
        T span = T.Abs(tEnd - tStart);
        if (!adaptive) h.AsSpan().Fill(o.FixedStep!.Value * dir);
        else if (o.FirstStep is { } fs) h.AsSpan().Fill(T.Min(fs, span) * dir);
        else
        {
            SelectInitialStep(tab, ref rhs, y, k.AsSpan(0, n), stage, k.AsSpan(s * n, n), tStage, h, tStart, dir, span, rtol, atol, o.Norm, shared, B, S, scaled);
            totalNfe++;
            for (int b = 0; b < B; b++) nfe[b]++;
        }
        for (int b = 0; b < B; b++) h[b] = dir * T.Min(T.Abs(h[b]), o.MaxStep);

        long attempts = 0;
        // Rows in lockstep: a shared-step solve with no events keeps every row at the same t, h and output
        // index, so each decision is made once for the batch and the per-row arrays are filled, not looped over. The
        // first row-wise event (a non-finite row) ends it; the general path below then carries on from the per-row state.
        bool together = shared && nEv == 0;
        var blockOutputs = together && !finalOnly ? new BlockOutputs<T>(y, k, yNew, states, n, slots, times.Length) : null;
        var passes = together ? StagePasses<T>.For(n) : null; // the lockstep block passes on two threads (large blocks)
        long pendingNfe = 0, pendingAcc = 0, pendingRej = 0; // per-row counters owed while together
        while (true)
        {
            int live = 0;
            if (together) live = active[0] ? B : 0;
            else for (int b = 0; b < B; b++) if (active[b]) live++;
            if (live == 0) break;
            if (attempts >= o.MaxSteps)
            {
                for (int b = 0; b < B; b++) if (active[b]) { active[b] = false; status[b] = SolveStatus.MaxStepsReached; }
                break;
            }
            attempts++;

            // Step sizes: never past the final time (so f is never evaluated outside [t0, t1]) unless OvershootFinalTime.
            if (together)
            {
                T rest = tEnd - tRow[0];
                hStep.AsSpan().Fill(!overshoot && T.Abs(h[0]) >= T.Abs(rest) ? rest : h[0]);
            }
            else for (int b = 0; b < B; b++)
            {
                if (!active[b]) { hStep[b] = T.Zero; continue; }
                T rest = tEnd - tRow[b];
                hStep[b] = !overshoot && T.Abs(h[b]) >= T.Abs(rest) ? rest : h[b];
            }

            // Stages 2..s.
            bool uniform = together || (shared && live == B && SameStep());
            for (int i = 1; i < s; i++)
            {
                if (together) tStage.AsSpan().Fill(tRow[0] + c[i] * hStep[0]);
                else for (int b = 0; b < B; b++) tStage[b] = tRow[b] + c[i] * hStep[b];
                if (uniform) Combine(y, k, a.AsSpan(i * s, i), hStep[0], stage, 0, n, n, together ? passes : null);
                else for (int b = 0; b < B; b++) Combine(y, k, a.AsSpan(i * s, i), hStep[b], stage, b * S, S, n);
                Eval(ref rhs, tStage, stage, k.AsSpan(i * n, n), B); totalNfe++;
                CountEvaluation();
            }

            // Solution and error.
            if (uniform) Combine(y, k, bw, hStep[0], yNew, 0, n, n, together ? passes : null);
            else for (int b = 0; b < B; b++) Combine(y, k, bw, hStep[b], yNew, b * S, S, n);
            if (adaptive)
            {
                ScaledError(e, scaled, uniform);
                ComputeRatios(scaled, active, ratio, shared, B, S, o.Norm);
                if (eLow is not null)
                {
                    // DOP853: r = r₁² / √(r₁² + 0.01 r₂²), of order h^8 like the propagated solution's error.
                    ScaledError(eLow, scaledLow!, uniform);
                    ComputeRatios(scaledLow!, active, ratioLow!, shared, B, S, o.Norm);
                    for (int b = 0; b < B; b++)
                    {
                        double r1 = ratio[b] * ratio[b], den = Math.Sqrt(r1 + 0.01 * ratioLow![b] * ratioLow[b]);
                        ratio[b] = den > 0 ? r1 / den : r1;
                    }
                }
            }

            if (together)
            {
                if ((passes?.AllFinite(yNew) ?? StageCombination.AllFinite<T>(yNew)) && (!adaptive || double.IsFinite(ratio[0])))
                {
                    FinishStepTogether();
                    continue;
                }
                // A row blew up: from here on rows decide alone.
                together = false;
                PayPendingCounts();
            }

            // Decide.
            bool anyAccepted = false;
            for (int b = 0; b < B; b++)
            {
                accept[b] = false;
                if (!active[b]) continue;
                bool finite = StageCombination.AllFinite<T>(yNew.AsSpan(b * S, S)) && (!adaptive || double.IsFinite(ratio[b]));
                if (!finite)
                {
                    nrej[b]++;
                    if (!adaptive || ++nonFiniteStreak[b] > 10) Stop(b, SolveStatus.NonFiniteState);
                    else
                    {
                        h[b] = hStep[b] * T.CreateChecked(0.2);
                        if (T.Abs(h[b]) < o.MinStep || tRow[b] + h[b] == tRow[b]) Stop(b, SolveStatus.NonFiniteState);
                    }
                    continue;
                }
                nonFiniteStreak[b] = 0;
                accept[b] = !adaptive || ratio[b] <= 1;
                if (accept[b]) { nacc[b]++; anyAccepted = true; } else nrej[b]++;
            }
            if (shared) { if (anyAccepted) sharedAcc++; else if (live > 0) sharedRej++; }

            if (anyAccepted)
            {
                // f(t_{n+1}, y_{n+1}): already the last stage for FSAL tableaus, else one more call (it is the next step's k_0).
                for (int b = 0; b < B; b++) tStage[b] = accept[b] ? StepEnd(b) : tRow[b];
                if (!fsal)
                {
                    Eval(ref rhs, tStage, yNew, k.AsSpan(s * n, n), B); totalNfe++;
                    CountEvaluation();
                }
                if (nDense > 0 && NeedsInterpolation()) EvalDenseStages();
                if (dense is not null) dense.Add(tRow[0], hStep[0], y, k);
                steps?.Add(new StepRecord<T>(tRow[0], hStep[0]));

                for (int b = 0; b < B; b++)
                {
                    if (!accept[b]) continue;
                    T tNew = tStage[b];
                    T stopAt = tNew; bool fired = false;
                    if (nEv > 0 && LocateEvent(b, tNew, ref stopAt))
                    {
                        fired = dir * (stopAt - tEnd) <= T.Zero; // an overshooting last step ignores events past t1
                        if (!fired) { stopAt = tNew; eventIndex[b] = -1; }
                    }
                    EmitOutputs(b, stopAt, fired);
                    if (fired)
                    {
                        evY.CopyTo(y.AsSpan(b * S, S));
                        tRow[b] = stopAt;
                        Stop(b, SolveStatus.EventFired);
                        continue;
                    }
                    if (overshoot && dir * (tNew - tEnd) > T.Zero)
                    {
                        // torchdiffeq-style last step past t1: the state at t1 comes from the interpolant.
                        Interp(b, double.CreateChecked((tEnd - tRow[b]) / hStep[b]), y.AsSpan(b * S, S));
                        tRow[b] = tEnd;
                        Stop(b, SolveStatus.Success);
                        continue;
                    }
                    yNew.AsSpan(b * S, S).CopyTo(y.AsSpan(b * S, S));
                    k.AsSpan(fEnd * n + b * S, S).CopyTo(k.AsSpan(b * S, S));
                    tRow[b] = tNew;
                    if (tNew == tEnd) { Stop(b, SolveStatus.Success); continue; }
                }
            }

            // Next step size.
            for (int b = 0; b < B; b++)
            {
                if (!active[b] || !adaptive) continue;
                if (!double.IsFinite(ratio[b])) continue; // handled above
                double f = controller.Factor(ratio[b], prevRatio[b], tab.Order, accept[b]);
                if (accept[b]) prevRatio[b] = ratio[b];
                T hn = hStep[b] * T.CreateChecked(f);
                if (T.Abs(hn) > o.MaxStep) hn = dir * o.MaxStep;
                h[b] = hn;
                if (T.Abs(hn) < o.MinStep || tRow[b] + hn == tRow[b]) Stop(b, SolveStatus.StepSizeUnderflow);
            }
        }
        PayPendingCounts();
        SolverScratch<T>.Return(yNew); SolverScratch<T>.Return(stage); SolverScratch<T>.Return(k);
        SolverScratch<T>.Return(scaled); SolverScratch<T>.Return(scaledLow);

        // Outputs a row never reached (it failed or stopped at an event) read NaN.
        if (!finalOnly)
            for (int b = 0; b < B; b++)
                for (int i = outIdx[b]; i < nOut; i++) states.AsSpan((i * B + b) * S, S).Fill(T.NaN);

        // Results.
        var finalStates = y; // rows hold the state where each stopped
        if (finalOnly) finalStates.AsSpan().CopyTo(states);
        var rowStats = new SolverStats[B];
        long accSum = 0, rejSum = 0;
        for (int b = 0; b < B; b++) { rowStats[b] = new SolverStats(nfe[b], nacc[b], nrej[b]); accSum += nacc[b]; rejSum += nrej[b]; }
        return new Solution<T>
        {
            Batch = B, StateSize = S, Times = outTimes, States = states, Status = status,
            OutputsReached = finalOnly ? Array.ConvertAll(status, st => st == SolveStatus.Success ? 1 : 0) : outIdx,
            FinalTime = tRow,
            Stats = shared ? new SolverStats(totalNfe, sharedAcc, sharedRej) : new SolverStats(totalNfe, accSum, rejSum),
            FinalStates = finalStates, EventIndex = eventIndex, LastStepSize = hStep, RowStats = rowStats,
            Steps = steps, Dense = dense,
        };

        // ---- local helpers (capture the workspace; no allocation: they are called, not stored) ----
        T StepEnd(int b) => !overshoot && T.Abs(hStep[b]) >= T.Abs(tEnd - tRow[b]) ? tEnd : tRow[b] + hStep[b];

        void Stop(int b, SolveStatus st) { active[b] = false; status[b] = st; }

        void CountEvaluation()
        {
            if (together) pendingNfe++;
            else for (int b = 0; b < B; b++) if (active[b]) nfe[b]++;
        }

        // The per-row counters a together phase owes (all rows were live throughout it).
        void PayPendingCounts()
        {
            if (pendingNfe == 0 && pendingAcc == 0 && pendingRej == 0) return;
            for (int b = 0; b < B; b++) { nfe[b] += pendingNfe; nacc[b] += pendingAcc; nrej[b] += pendingRej; }
            pendingNfe = pendingAcc = pendingRej = 0;
        }

        // Accept or reject a step every row took together, and choose the next step, once for the batch: the same
        // decisions the row-wise code below makes for each row when they all see the same ratio, t and h.
        void FinishStepTogether()
        {
            T t0 = tRow[0], hs = hStep[0];
            bool ok = !adaptive || ratio[0] <= 1;
            if (ok)
            {
                sharedAcc++; pendingAcc++;
                T tNew = StepEnd(0);
                bool past = overshoot && dir * (tNew - tEnd) > T.Zero;
                tStage.AsSpan().Fill(tNew);
                if (!fsal)
                {
                    Eval(ref rhs, tStage, yNew, k.AsSpan(s * n, n), B); totalNfe++;
                    pendingNfe++;
                }
                if (nDense > 0 && (dense is not null || past || (!finalOnly && outIdx[0] < outTimes.Length && dir * (outTimes[outIdx[0]] - tNew) < T.Zero)))
                    EvalDenseStages();
                if (dense is not null) dense.Add(t0, hs, y, k);
                steps?.Add(new StepRecord<T>(t0, hs));
                EmitOutputsAllRows(tNew);
                if (past)
                {
                    // torchdiffeq-style last step past t1 (OvershootFinalTime): every row's state at t1 from the interpolant,
                    // one block combination with the weights each row's Interp would use.
                    tab.InterpolationWeights(double.CreateChecked((tEnd - t0) / hs), wD);
                    InterpolationCoefficients(hs, coef);
                    StageCombination.Combine<T>(y, k, n, 0, coef, y);
                    tRow.AsSpan().Fill(tEnd);
                    for (int b = 0; b < B; b++) Stop(b, SolveStatus.Success);
                    return;
                }
                if (passes is not null) passes.CopyStart(yNew, y, k, fEnd);
                else
                {
                    yNew.AsSpan().CopyTo(y);
                    k.AsSpan(fEnd * n, n).CopyTo(k.AsSpan(0, n));
                }
                tRow.AsSpan().Fill(tNew);
                if (tNew == tEnd)
                {
                    for (int b = 0; b < B; b++) Stop(b, SolveStatus.Success);
                    return;
                }
            }
            else { sharedRej++; pendingRej++; }
            if (!adaptive) return;
            double f = controller.Factor(ratio[0], prevRatio[0], tab.Order, ok);
            if (ok) prevRatio.AsSpan().Fill(ratio[0]);
            T hn = hs * T.CreateChecked(f);
            if (T.Abs(hn) > o.MaxStep) hn = dir * o.MaxStep;
            h.AsSpan().Fill(hn);
            if (T.Abs(hn) < o.MinStep || tRow[0] + hn == tRow[0])
                for (int b = 0; b < B; b++) Stop(b, SolveStatus.StepSizeUnderflow);
        }

        // err = h Σ w_i k_i scaled by atol + rtol·max(|y_n|, |y_{n+1}|), per row; as one flat pass over [B, S] when
        // every row has the same step: each element gets the same operations in the same order, so the same bits.
        void ScaledError(T[] w, T[] dst, bool flat)
        {
            if (flat && uniformTol)
            {
                Span<T> coef = stackalloc T[s];
                for (int i = 0; i < s; i++) coef[i] = w[i] == T.Zero ? T.Zero : hStep[0] * w[i];
                if (together && passes is not null) passes.ScaledError(k, coef, y, yNew, atol[0], rtol[0], dst);
                else StageCombination.ScaledError<T>(k, n, coef, y, yNew, atol[0], rtol[0], dst);
                return;
            }
            for (int b = 0; b < B; b++)
            {
                var err = dst.AsSpan(b * S, S);
                err.Clear();
                for (int i = 0; i < s; i++)
                {
                    if (w[i] == T.Zero) continue;
                    T coef = hStep[b] * w[i];
                    var ki = k.AsSpan(i * n + b * S, S);
                    for (int j = 0; j < S; j++) err[j] += coef * ki[j];
                }
                for (int j = 0; j < S; j++)
                {
                    int idx = b * S + j;
                    int q = uniformTol ? 0 : j;
                    T tol = atol[q] + rtol[q] * T.Max(T.Abs(y[idx]), T.Abs(yNew[idx]));
                    err[j] = err[j] / tol;
                }
            }
        }

        // Whether an accepted step will be interpolated inside: an output time before its end, a possible event,
        // an overshooting last step, or kept dense output. Only then are the interpolant's extra stages worth their cost.
        bool NeedsInterpolation()
        {
            if (dense is not null || nEv > 0) return true;
            for (int b = 0; b < B; b++)
            {
                if (!accept[b]) continue;
                T end = StepEnd(b);
                if (overshoot && dir * (end - tEnd) > T.Zero) return true;
                if (!finalOnly && outIdx[b] < outTimes.Length && dir * (outTimes[outIdx[b]] - end) < T.Zero) return true;
            }
            return false;
        }

        // The extra stages into slots s + 1 …; rows that did not accept a step get a zero step (their slots are unused).
        // In lockstep every row accepted the same step: one block combination per stage, as for the method's own stages.
        void EvalDenseStages()
        {
            if (!together) for (int b = 0; b < B; b++) hDense![b] = accept[b] ? hStep[b] : T.Zero;
            for (int j = 0; j < nDense; j++)
            {
                var row = aD.AsSpan(j * slots, s + 1 + j);
                if (together)
                {
                    tDense.AsSpan().Fill(tRow[0] + cD[j] * hStep[0]);
                    Combine(y, k, row, hStep[0], stage, 0, n, n, passes);
                }
                else for (int b = 0; b < B; b++)
                {
                    tDense![b] = tRow[b] + cD[j] * hDense![b];
                    Combine(y, k, row, hDense[b], stage, b * S, S, n);
                }
                Eval(ref rhs, tDense!, stage, k.AsSpan((s + 1 + j) * n, n), B); totalNfe++;
                CountEvaluation();
            }
        }

        void Interp(int b, double theta, Span<T> dst)
        {
            tab.InterpolationWeights(theta, wD);
            InterpolationCoefficients(hStep[b], coef);
            StageCombination.Combine<T>(y.AsSpan(b * S, S), k, n, b * S, coef, dst);
        }

        // h·w for the interpolation weights in wD; 0 where the weight is 0 (that slot is skipped).
        void InterpolationCoefficients(T hh, Span<T> dst)
        {
            for (int i = 0; i < slots; i++) dst[i] = wD[i] == 0 ? T.Zero : hh * T.CreateChecked(wD[i]);
        }

        bool SameStep()
        {
            for (int b = 1; b < B; b++) if (hStep[b] != hStep[0]) return false;
            return true;
        }

        // EmitOutputs for every row at once: output i's rows are contiguous in states, and each element gets exactly
        // the per-row arithmetic (same weights, same order), so the results are bit-identical.
        void EmitOutputsAllRows(T upTo)
        {
            if (finalOnly) return;
            int next = outIdx[0];
            var outputs = blockOutputs!; // made whenever lockstep writes outputs
            while (next < outTimes.Length && dir * (outTimes[next] - upTo) <= T.Zero)
            {
                T to = outTimes[next];
                if (to == upTo) outputs.AddAtEnd(next);
                else
                {
                    tab.InterpolationWeights(double.CreateChecked((to - tRow[0]) / hStep[0]), wD);
                    InterpolationCoefficients(hStep[0], coef);
                    outputs.AddInterpolated(next, coef);
                }
                next++;
            }
            outputs.Flush();
            Array.Fill(outIdx, next);
        }

        void EmitOutputs(int b, T upTo, bool fired)
        {
            if (finalOnly) return;
            while (outIdx[b] < outTimes.Length && dir * (outTimes[outIdx[b]] - upTo) <= T.Zero)
            {
                T to = outTimes[outIdx[b]];
                var dst = states.AsSpan((outIdx[b] * B + b) * S, S);
                if (fired && to == upTo) evY.CopyTo(dst);
                else if (to == StepEnd(b)) yNew.AsSpan(b * S, S).CopyTo(dst);
                else Interp(b, double.CreateChecked((to - tRow[b]) / hStep[b]), dst);
                outIdx[b]++;
            }
        }

        // Checks every event for a sign change over the accepted step; locates the earliest on the interpolant with the
        // Illinois method and leaves the state there in evY. The reported time is the bracket end past the crossing.
        bool LocateEvent(int b, T tNew, ref T stopAt)
        {
            double best = 2; int bestEv = -1; T bestT = tNew;
            var yRow = yNew.AsSpan(b * S, S);
            for (int ev = 0; ev < nEv; ev++)
            {
                T g0 = gPrev[b * nEv + ev], g1 = events![ev](tNew, yRow);
                gPrev[b * nEv + ev] = g1;
                if (g0 == T.Zero || T.Sign(g0) == T.Sign(g1)) continue;
                double lo = 0, hi = 1; T glo = g0, ghi = g1; int side = 0;
                double tolTheta = double.CreateChecked(o.EventTolerance / T.Abs(hStep[b]));
                for (int it = 0; it < 200 && hi - lo > tolTheta && ghi != T.Zero; it++)
                {
                    double gl = double.CreateChecked(glo), gh = double.CreateChecked(ghi);
                    double m = hi - gh * (hi - lo) / (gh - gl);
                    if (!(m > lo && m < hi)) m = 0.5 * (lo + hi);
                    Interp(b, m, evY);
                    T gm = events[ev](tRow[b] + T.CreateChecked(m) * hStep[b], evY);
                    if (T.Sign(gm) == T.Sign(ghi)) { hi = m; ghi = gm; if (side == 1) glo /= T.CreateChecked(2); side = 1; }
                    else { lo = m; glo = gm; if (side == -1) ghi /= T.CreateChecked(2); side = -1; }
                }
                if (hi < best) { best = hi; bestEv = ev; }
            }
            if (bestEv < 0) return false;
            bestT = best >= 1 ? tNew : tRow[b] + T.CreateChecked(best) * hStep[b];
            if (best >= 1) yRow.CopyTo(evY); else Interp(b, best, evY);
            stopAt = bestT; eventIndex[b] = bestEv;
            return true;
        }
    }

    private static void Eval(ref TRhs rhs, ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch) => rhs.Evaluate(t, y, dy, batch);

    /// <summary>dst[off..off+len] = y + h Σ_j w_j k_j over the same range.</summary>
    private static void Combine(T[] y, T[] k, ReadOnlySpan<T> w, T h, T[] dst, int off, int len, int n, StagePasses<T>? passes = null)
    {
        Span<T> coef = stackalloc T[w.Length];
        for (int j = 0; j < w.Length; j++) coef[j] = w[j] == T.Zero ? T.Zero : h * w[j];
        if (passes is not null && off == 0 && len == n) passes.Combine(y, k, coef, dst);
        else StageCombination.Combine(y.AsSpan(off, len), k, n, off, coef, dst.AsSpan(off, len));
    }


    /// <summary>Error ratio per row: RMS (or the custom norm) of the scaled error; in shared mode over all live rows.</summary>
    private static void ComputeRatios(T[] scaled, bool[] active, double[] ratio, bool shared, int B, int S, ErrorNorm<T>? norm)
    {
        if (shared)
        {
            double r;
            bool allLive = Array.IndexOf(active, false) < 0; // lockstep or row-wise: the same sum, so the same bits
            if (norm is not null)
            {
                if (!allLive) for (int b = 0; b < B; b++) if (!active[b]) scaled.AsSpan(b * S, S).Clear();
                r = double.CreateChecked(norm(scaled));
            }
            else if (allLive)
                r = double.CreateChecked(T.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares<T>(scaled) / T.CreateChecked(scaled.Length)));
            else
            {
                T sum = T.Zero; int count = 0;
                for (int b = 0; b < B; b++)
                {
                    if (!active[b]) continue;
                    foreach (var v in scaled.AsSpan(b * S, S)) sum += v * v;
                    count += S;
                }
                r = double.CreateChecked(T.Sqrt(sum / T.CreateChecked(Math.Max(count, 1))));
            }
            Array.Fill(ratio, r);
            return;
        }
        for (int b = 0; b < B; b++)
        {
            if (!active[b]) continue;
            var row = scaled.AsSpan(b * S, S);
            ratio[b] = norm is not null ? double.CreateChecked(norm(row)) : double.CreateChecked(Rms(row));
        }
    }

    private static T Rms(ReadOnlySpan<T> v)
    {
        T sum = T.Zero;
        foreach (var x in v) sum += x * x;
        return T.Sqrt(sum / T.CreateChecked(v.Length));
    }

    /// <summary>
    /// Hairer, Nørsett &amp; Wanner I, II.4 (as torchdiffeq's _select_initial_step, with order − 1 = the embedded order):
    /// d0 = ‖y0/sc‖, d1 = ‖f0/sc‖, h0 = 0.01·d0/d1 (1e-6 if either is below 1e-5), one Euler step of h0 gives f1,
    /// d2 = ‖(f1 − f0)/sc‖/h0, h1 = (0.01/max(d1, d2))^(1/order) (or max(1e-6, 1e-3·h0) if both ≤ 1e-15), h = min(100 h0, h1).
    /// h0 is capped at the interval length so f is never evaluated outside [t0, t1].
    /// </summary>
    private static void SelectInitialStep(ButcherTableau tab, ref TRhs rhs, T[] y0, Span<T> f0, T[] y1, Span<T> f1, T[] tBuf, T[] h,
        T t0, T dir, T span, T[] rtol, T[] atol, ErrorNorm<T>? norm, bool shared, int B, int S, T[] scratch)
    {
        int n = B * S;
        int groups = shared ? 1 : B, len = shared ? n : S;
        Span<double> h0 = groups <= 64 ? stackalloc double[groups] : new double[groups];
        Span<double> d1s = groups <= 64 ? stackalloc double[groups] : new double[groups];
        for (int g = 0; g < groups; g++)
        {
            int off = g * len;
            double d0 = NormOf(y0, off, len, false, default), d1 = NormOf(f0, off, len, false, default);
            double hh = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
            hh = Math.Min(hh, double.CreateChecked(span));
            h0[g] = hh; d1s[g] = d1;
            T ht = T.CreateChecked(hh) * dir;
            for (int i = off; i < off + len; i++) y1[i] = y0[i] + ht * f0[i];
            for (int b = off / S; b < (off + len) / S; b++) tBuf[b] = t0 + ht;
        }
        rhs.Evaluate(tBuf, y1, f1, B);
        double p = tab.Order; // torchdiffeq passes order − 1 and uses exponent 1/(order−1+1)
        for (int g = 0; g < groups; g++)
        {
            int off = g * len;
            double d2 = NormOf(f1, off, len, true, f0) / h0[g];
            double d1 = d1s[g];
            double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.Max(1e-6, h0[g] * 1e-3) : Math.Pow(0.01 / Math.Max(d1, d2), 1.0 / p);
            T hv = T.CreateChecked(Math.Min(100 * h0[g], h1)) * dir;
            for (int b = off / S; b < (off + len) / S; b++) h[b] = hv;
        }

        double NormOf(ReadOnlySpan<T> v, int off, int len, bool diff, ReadOnlySpan<T> sub)
        {
            for (int i = off; i < off + len; i++)
            {
                int j = atol.Length == 1 ? 0 : i % S; // one element: uniform tolerances
                T sc = atol[j] + T.Abs(y0[i]) * rtol[j];
                scratch[i] = (diff ? v[i] - sub[i] : v[i]) / sc;
            }
            var seg = scratch.AsSpan(off, len);
            return double.CreateChecked(norm is not null ? norm(seg) : Rms(seg));
        }
    }
}
