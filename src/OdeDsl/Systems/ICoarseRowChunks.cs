namespace OdeDsl;

/// <summary>
/// Marks dynamics whose every call pays a fixed set-up cost that does not shrink with the rows (the CNF fields compute
/// time-dependent weights per call: a hypernetwork of t, the trace shortcut's matrices, packed weight panels), so that
/// <see cref="RowChunkedEvaluator{TDynamics, T}"/> and the adjoint's batches cut a batch into one chunk per thread
/// instead of L2-sized chunks. Measured (docs/performance.md, "CNF step: per-call cost and chunking"): cnf.py's
/// hypernetwork field cost about 96 µs per call at 64 rows and 181 µs at 512 on one core, so its 512 rows in 8
/// cache-sized chunks cost about 4× one call.
/// </summary>
internal interface ICoarseRowChunks { }
