namespace OdeDsl;

/// <summary>
/// Marks dynamics whose every call pays a fixed set-up cost that does not shrink with the rows (the CNF fields compute
/// time-dependent weights per call: a hypernetwork of t, the trace shortcut's matrices, packed weight panels), so that
/// <see cref="RowChunkedEvaluator{TDynamics, T}"/> and the adjoint's batches cut a batch into one chunk per thread
/// instead of L2-sized chunks. Measured (docs/performance.md, "CNF step: per-call cost and chunking"): cnf.py's hypernetwork field costs about 75 µs
/// per call at 8 rows and 180 µs at 512 on one core, so its 512 rows in 8 cache-sized chunks cost 3–4× one call.
/// </summary>
internal interface ICoarseRowChunks { }
