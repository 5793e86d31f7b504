using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// Two-way row split of large GEMMs: the bottom rows go to a thread-pool work item while the calling thread does the
/// top rows. If the pool has not started the item by the time the caller is done, the caller takes it back and runs
/// it itself, so a busy pool costs no more than the serial product. Nothing is allocated per call: the work item
/// is cached per calling thread and the pool queues <see cref="IThreadPoolWorkItem"/>s without wrapping them.
/// </summary>
internal static unsafe class GemmParallel
{
    /// <summary>Split only from this many multiply-adds (1024×64×64 is 4·2²⁰): below it, the hand-off (µs) costs more than it saves.</summary>
    internal static long MinProduct = 1L << 21;

    /// <summary>Split only with at least this many rows, so each half keeps whole register blocks.</summary>
    internal static int MinRows = 96;

    /// <summary>Off on one core; tests may switch it.</summary>
    internal static bool Enabled = Environment.ProcessorCount > 1;

    /// <summary>Set on threads that already run one share of a split batch (RowChunkedEvaluator): splitting again would
    /// only queue more work than there are cores.</summary>
    [ThreadStatic] internal static bool SuppressedOnThisThread;

    public static bool ShouldSplit(int m, int n, int k) =>
        Enabled && m >= MinRows && (long)m * n * k >= MinProduct && !SuppressedOnThisThread;

    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int top = m / 2 / 24 * 24; // a multiple of both register-block heights (6 and 8)
        if (top == 0) top = m / 2;
        int bottom = m - top;
        nint aOffset = transA ? top : (nint)top * lda; // first element of A's row `top` (column `top` when stored transposed)
        fixed (T* pa = a, pb = b, pc = c)
        {
            var work = Work<T>.ForThisThread();
            work.Set(transA, transB, bottom, n, k, alpha, pa + aOffset, a.Length - (int)aOffset, lda,
                pb, b.Length, ldb, beta, pc + (nint)top * ldc, c.Length - top * ldc, ldc);
            ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: false);

            GemmDriver.RunSerial(transA, transB, top, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

            if (!work.TryTake()) work.WaitUntilDone();
            else work.RunBottom();
        }
    }

    private sealed class Work<T> : IThreadPoolWorkItem where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static Work<T>? t_cached;

        private const int Queued = 0, Taken = 1, Done = 2;
        private int _state = Done;
        private readonly ManualResetEventSlim _done = new(false);
        private bool _transA, _transB;
        private int _m, _n, _k, _aLength, _lda, _bLength, _ldb, _cLength, _ldc;
        private T _alpha, _beta;
        private T* _a, _b, _c;

        // The event's kernel handle is created up front: ManualResetEventSlim allocates it lazily the first time a
        // waiter has to block, which would otherwise show up as an allocation in some later, unlucky call.
        private Work() => _ = _done.WaitHandle;

        public static Work<T> ForThisThread() => t_cached ??= new Work<T>();

        public void Set(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int aLength, int lda,
            T* b, int bLength, int ldb, T beta, T* c, int cLength, int ldc)
        {
            (_transA, _transB, _m, _n, _k, _alpha, _beta) = (transA, transB, m, n, k, alpha, beta);
            _a = a; _b = b; _c = c;
            (_aLength, _lda, _bLength, _ldb, _cLength, _ldc) = (aLength, lda, bLength, ldb, cLength, ldc);
            _done.Reset();
            Volatile.Write(ref _state, Queued); // publishes the fields above to whoever takes the item
        }

        /// <summary>Claims the bottom half; false when the pool thread already has it.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        public void WaitUntilDone() => _done.Wait();

        public void RunBottom() => GemmDriver.RunSerial(_transA, _transB, _m, _n, _k, _alpha,
            new ReadOnlySpan<T>(_a, _aLength), _lda, new ReadOnlySpan<T>(_b, _bLength), _ldb, _beta,
            new Span<T>(_c, _cLength), _ldc);

        /// <summary>Pool side. A stale execution (the caller took the item back) finds the state not Queued and returns.</summary>
        public void Execute()
        {
            if (!TryTake()) return;
            RunBottom();
            Volatile.Write(ref _state, Done);
            _done.Set();
        }
    }
}
