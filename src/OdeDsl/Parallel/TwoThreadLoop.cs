using System.Runtime.ExceptionServices;

namespace OdeDsl;

/// <summary>One chunk of a <see cref="TwoThreadLoop"/>; <c>worker</c> is 0 on the calling thread and 1 on the other.</summary>
internal interface IChunkBody
{
    void RunChunk(int chunk, int worker);
}

/// <summary>
/// Runs the chunks 0 … count − 1 of a body on the calling thread and one other thread, each claiming the next chunk from
/// a shared counter. The other thread is <see cref="TwoThreadHelper"/>'s, or a thread-pool thread while the helper holds
/// another run. If it starts late (or never, on a busy machine) the caller takes the rest, so a loop is never slower than
/// the serial one by more than the hand-off. The body must give each chunk a result that does not depend on which
/// thread runs it. Nothing is allocated per run: the pool queues this object itself. One run at a time per instance.
/// </summary>
internal sealed class TwoThreadLoop : IThreadPoolWorkItem
{
    /// <summary>Off on one core; tests may switch it.</summary>
    internal static bool Enabled = Environment.ProcessorCount > 1;

    /// <summary>False: every run goes to the thread pool (the hand-off before <see cref="TwoThreadHelper"/>; tests compare).</summary>
    internal static bool UseHelper = true;

    /// <summary>
    /// How long the caller, done with its chunks, spins for the other thread's last chunk before it blocks: the chunks
    /// are about equal, so that chunk usually ends within a few µs, and a blocked caller waits for the kernel to wake it.
    /// </summary>
    internal static int WaitSpinMicroseconds = 50;

    private const int Queued = 0, Taken = 1, Done = 2;
    private readonly ManualResetEventSlim _done = new(false, spinCount: 0);   // WaitForOther has spun already
    private int _state = Done;
    private int _next, _count;
    private IChunkBody? _body;
    private ExceptionDispatchInfo? _poolFailure;

    public TwoThreadLoop() => _ = _done.WaitHandle; // created now: it would be allocated the first time a wait blocks

    public void Run(IChunkBody body, int count)
    {
        _body = body; _count = count; _next = 0; _poolFailure = null;
        bool queued = Enabled && count > 1, posted = false;
        if (queued)
        {
            _done.Reset();
            Volatile.Write(ref _state, Queued); // publishes the fields above to the other thread
            posted = UseHelper && TwoThreadHelper.TryPost(this);
            if (!posted) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        try { Work(body, worker: 0); }
        finally
        {
            // Every chunk is claimed by now (or the caller's threw). If the other thread never started, cancel it (and
            // free the helper at once, which may still be waking up, for the next run); else wait for its chunk: callers
            // hand in pinned pointers, which must outlive it.
            if (queued)
            {
                if (Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued) WaitForOther();
                else if (posted) TwoThreadHelper.Release(this);
            }
        }
        _poolFailure?.Throw();
    }

    private void WaitForOther()
    {
        if (Volatile.Read(ref _state) == Done) return;
        var spin = new BoundedSpin(WaitSpinMicroseconds);
        while (spin.Pause())
            if (Volatile.Read(ref _state) == Done) return;
        // Done is written before the event is set, and a set left over from an earlier run (whose thread had written
        // Done, been seen, and not yet set the event when this run reset it) only sends the loop round again.
        while (Volatile.Read(ref _state) != Done)
        {
            _done.Wait();
            _done.Reset();
        }
    }

    public void Execute() => _ = Execute(fromHelper: false);

    /// <summary>
    /// Claims the run and works on it unless it has been taken (the caller finished alone). <see cref="TwoThreadHelper"/>
    /// passes <paramref name="fromHelper"/> so that it is free for the caller's next run before this one reads as done;
    /// returns whether it claimed the run (and so freed the helper).
    /// </summary>
    internal bool Execute(bool fromHelper)
    {
        if (Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued) return false; // stale: the caller finished alone
        try { Work(_body!, worker: 1); }
        catch (Exception ex) { _poolFailure = ExceptionDispatchInfo.Capture(ex); }
        finally
        {
            if (fromHelper) TwoThreadHelper.Release(this);
            Volatile.Write(ref _state, Done);
            _done.Set();
        }
        return true;
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
