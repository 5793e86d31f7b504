using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// Two-way row split of large GEMMs: the top and bottom rows are the two chunks of a <see cref="TwoThreadLoop"/>, so the
/// calling thread does the top rows while the loop's other thread (<see cref="TwoThreadHelper"/>, else the pool) does the
/// bottom ones. If that thread has not started by the time the caller is done, the caller takes the bottom rows too, so
/// a busy machine costs no more than the serial product. Each half is the serial product of its rows, whichever thread
/// runs it. Nothing is allocated per call: the halves and their loop are cached per calling thread.
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
        fixed (T* pa = a, pb = b, pc = c)
        {
            var halves = Halves<T>.ForThisThread();
            halves.Set(transA, transB, m, n, k, top, alpha, pa, a.Length, lda, pb, b.Length, ldb, beta, pc, c.Length, ldc);
            halves.Run();
        }
    }

    /// <summary>The two halves of one product: chunk 0 the top rows, chunk 1 the rest.</summary>
    private sealed class Halves<T> : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static Halves<T>? t_cached;

        private readonly TwoThreadLoop _loop = new();
        private bool _transA, _transB;
        private int _m, _n, _k, _top, _aLength, _lda, _bLength, _ldb, _cLength, _ldc;
        private T _alpha, _beta;
        private T* _a, _b, _c;

        public static Halves<T> ForThisThread() => t_cached ??= new Halves<T>();

        public void Set(bool transA, bool transB, int m, int n, int k, int top, T alpha, T* a, int aLength, int lda,
            T* b, int bLength, int ldb, T beta, T* c, int cLength, int ldc)
        {
            (_transA, _transB, _m, _n, _k, _top, _alpha, _beta) = (transA, transB, m, n, k, top, alpha, beta);
            _a = a; _b = b; _c = c;
            (_aLength, _lda, _bLength, _ldb, _cLength, _ldc) = (aLength, lda, bLength, ldb, cLength, ldc);
        }

        public void Run()
        {
            try { _loop.Run(this, 2); }
            finally { _a = _b = _c = null; }
        }

        public void RunChunk(int chunk, int worker)
        {
            int first = chunk == 0 ? 0 : _top, rows = chunk == 0 ? _top : _m - _top;
            nint aOffset = _transA ? first : (nint)first * _lda; // first element of A's row `first` (column `first` when stored transposed)
            GemmDriver.RunSerial(_transA, _transB, rows, _n, _k, _alpha,
                new ReadOnlySpan<T>(_a + aOffset, _aLength - (int)aOffset), _lda, new ReadOnlySpan<T>(_b, _bLength), _ldb, _beta,
                new Span<T>(_c + (nint)first * _ldc, _cLength - first * _ldc), _ldc);
        }
    }
}
