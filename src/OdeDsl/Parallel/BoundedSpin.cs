using System.Diagnostics;

namespace OdeDsl;

/// <summary>
/// The waits of the two-thread hand-offs (<see cref="TwoThreadHelper"/>, <see cref="TwoThreadLoop"/>): poll with pause
/// instructions for the first <see cref="YieldAfterMicroseconds"/>, then with <c>sched_yield</c> between polls, for at
/// most a budget of µs, after which the caller blocks. A pure spin is the fastest hand-off on free cores; yielding after
/// a while lets a thread that shares this core (a busy machine) run, the thread waited for among them.
/// </summary>
internal struct BoundedSpin
{
    /// <summary>Pure spinning before the polls start yielding (benchmarks may change it).</summary>
    internal static int YieldAfterMicroseconds = 20;

    private readonly long _yieldFrom, _until;

    public BoundedSpin(int microseconds)
    {
        long now = Stopwatch.GetTimestamp();
        _yieldFrom = now + YieldAfterMicroseconds * Stopwatch.Frequency / 1_000_000;
        _until = now + microseconds * Stopwatch.Frequency / 1_000_000;
    }

    /// <summary>Waits a moment before the next poll; false once the budget is spent.</summary>
    public readonly bool Pause()
    {
        long now = Stopwatch.GetTimestamp();
        if (now >= _until) return false;
        if (now < _yieldFrom) Thread.SpinWait(8);
        else Thread.Yield();
        return true;
    }
}
