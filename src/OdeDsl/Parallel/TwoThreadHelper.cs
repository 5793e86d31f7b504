namespace OdeDsl;

/// <summary>
/// One long-lived thread that takes the second share of <see cref="TwoThreadLoop"/> runs. Between runs it spins for up
/// to <see cref="SpinMicroseconds"/> (pause instructions, no system calls) before it blocks, so the next run of a solve,
/// posted a few µs later, starts at once. Through the thread pool each of the CNF step's 87 hand-offs (50 evaluations
/// and 37 stage VJPs of about 100 µs each) cost a queue, a wake-up of a parked pool thread and a
/// <c>sched_yield</c>-spinning wait (docs/performance.md, "cnf-step mlp/backprop: a spinning helper thread").
/// </summary>
/// <remarks>
/// One run at a time: <see cref="TryPost"/> fails while the helper holds a run, and the caller then queues it to the
/// pool as before, so runs from several threads at once (and a run posted from inside another's chunk) never wait for
/// the helper. The helper only calls <c>TwoThreadLoop.Execute</c>, which claims the run or finds it already taken (<c>Execute(bool)</c>)
/// and catches the body's exceptions for the caller.
/// </remarks>
internal static class TwoThreadHelper
{
    /// <summary>How long the helper spins for the next run before it blocks (tests and benchmarks may change it).</summary>
    internal static int SpinMicroseconds = 200;

    private static TwoThreadLoop? s_posted;   // the run the helper holds (posted or running); only the helper clears it
    private static int s_sleeping;            // 1 while the helper is (about to be) blocked on s_wake
    private static readonly ManualResetEventSlim s_wake = new(false, spinCount: 0);   // it has spun already
    private static Thread? s_thread;
    private static readonly Lock s_startLock = new();

    /// <summary>Hands <paramref name="loop"/> (already marked queued) to the helper; false when it holds another run.</summary>
    public static bool TryPost(TwoThreadLoop loop)
    {
        if (s_thread is null) Start();
        if (Interlocked.CompareExchange(ref s_posted, loop, null) is not null) return false;
        // The exchange above is a full fence: either the helper sees the post before it blocks, or it has announced
        // its sleep by now and is woken here.
        if (Volatile.Read(ref s_sleeping) != 0) s_wake.Set();
        return true;
    }

    private static void Start()
    {
        lock (s_startLock)
        {
            if (s_thread is not null) return;
            _ = s_wake.WaitHandle;   // the kernel object now, not in the first wait that blocks
            var thread = new Thread(Loop) { IsBackground = true, Name = "OdeDsl two-thread helper" };
            thread.Start();
            s_thread = thread;
        }
    }

    private static void Loop()
    {
        while (true)
        {
            var run = Volatile.Read(ref s_posted);
            if (run is null)
            {
                var spin = new BoundedSpin(SpinMicroseconds);
                while ((run = Volatile.Read(ref s_posted)) is null && spin.Pause()) { }
            }
            if (run is null)
            {
                s_wake.Reset();
                Interlocked.Exchange(ref s_sleeping, 1);
                if (Volatile.Read(ref s_posted) is null) s_wake.Wait();
                Volatile.Write(ref s_sleeping, 0);
                continue;
            }
            // Never throws (the body's exceptions go to the caller). A run it worked on freed the helper before it read
            // as done, and the caller may have posted its next run since: only a run found already taken is freed here.
            if (!run.Execute(fromHelper: true)) Release(run);
        }
    }

    /// <summary>
    /// Frees the helper for the next post if it still holds <paramref name="run"/>. A caller that took its whole run back
    /// frees it too; should the helper then find that run posted anew and taken once more, its own call here may drop
    /// the newer post, and that run's caller simply does all of it.
    /// </summary>
    internal static void Release(TwoThreadLoop run) => Interlocked.CompareExchange(ref s_posted, null, run);
}
