using System.Runtime.ExceptionServices;

namespace OdeDsl;

/// <summary>One chunk of a <see cref="TwoThreadLoop"/>; <c>worker</c> is 0 on the calling thread and 1 on the pool thread.</summary>
internal interface IChunkBody
{
    void RunChunk(int chunk, int worker);
}

/// <summary>
/// Runs the chunks 0 … count − 1 of a body on the calling thread and one thread-pool thread, each claiming the next
/// chunk from a shared counter. If the pool thread starts late (or never, on a busy pool) the caller takes the rest,
/// so a loop is never slower than the serial one by more than the hand-off. The body must give each chunk a result
/// that does not depend on which thread runs it. Nothing is allocated per run: the pool queues this object itself.
/// One run at a time per instance.
/// </summary>
internal sealed class TwoThreadLoop : IThreadPoolWorkItem
{
    /// <summary>Off on one core; tests may switch it.</summary>
    internal static bool Enabled = Environment.ProcessorCount > 1;

    private const int Queued = 0, Taken = 1, Done = 2;
    private readonly ManualResetEventSlim _done = new(false);
    private int _state = Done;
    private int _next, _count;
    private IChunkBody? _body;
    private ExceptionDispatchInfo? _poolFailure;

    public TwoThreadLoop() => _ = _done.WaitHandle; // created now: it would be allocated the first time a wait blocks

    public void Run(IChunkBody body, int count)
    {
        _body = body; _count = count; _next = 0; _poolFailure = null;
        bool queued = Enabled && count > 1;
        if (queued)
        {
            _done.Reset();
            Volatile.Write(ref _state, Queued); // publishes the fields above to the pool thread
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        try { Work(body, worker: 0); }
        finally
        {
            // Every chunk is claimed by now (or the caller's threw). If the pool thread never started, cancel it; else
            // wait for its chunk: callers hand in pinned pointers, which must outlive it.
            if (queued && Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued) _done.Wait();
        }
        _poolFailure?.Throw();
    }

    public void Execute()
    {
        if (Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued) return; // stale: the caller finished alone
        try { Work(_body!, worker: 1); }
        catch (Exception ex) { _poolFailure = ExceptionDispatchInfo.Capture(ex); }
        finally
        {
            Volatile.Write(ref _state, Done);
            _done.Set();
        }
    }

    private void Work(IChunkBody body, int worker)
    {
        // Each thread already runs one share: a GEMM inside splitting again would only queue more work than cores.
        bool suppressed = Tensors.GemmParallel.SuppressedOnThisThread;
        Tensors.GemmParallel.SuppressedOnThisThread = true;
        try
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref _next) - 1) < _count) body.RunChunk(chunk, worker);
        }
        finally { Tensors.GemmParallel.SuppressedOnThisThread = suppressed; }
    }
}
