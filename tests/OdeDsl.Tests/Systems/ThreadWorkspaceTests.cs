namespace OdeDsl.Tests.Systems;

/// <summary>
/// The per-thread chunk workspace (<see cref="ThreadWorkspace{T}"/>): an owner gets back its own array with what it left
/// there, another owner gets it cleared, a nested rent gets a separate array, and oversized arrays are not kept.
/// </summary>
public class ThreadWorkspaceTests
{
    [Fact]
    public void SameOwnerKeepsItsContentsAnotherOwnerGetsZeros()
    {
        // on a fresh thread, so no other test's array is in the slot
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { Body(); }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
    }

    private static void Body()
    {
        long a = ThreadWorkspace<double>.NewOwner(), b = ThreadWorkspace<double>.NewOwner();
        var first = ThreadWorkspace<double>.Rent(100, a);
        Assert.All(first, x => Assert.Equal(0.0, x));
        first.AsSpan().Fill(7.0);
        ThreadWorkspace<double>.Return(first, a);

        var again = ThreadWorkspace<double>.Rent(80, a);
        Assert.Same(first, again);
        Assert.Equal(7.0, again[79]);   // its own leftovers, as with an array it owned
        var nested = ThreadWorkspace<double>.Rent(80, a);
        Assert.NotSame(again, nested);  // the slot is empty while lent
        ThreadWorkspace<double>.Return(nested, a);
        ThreadWorkspace<double>.Return(again, a);

        var other = ThreadWorkspace<double>.Rent(100, b);
        Assert.Same(first, other);
        Assert.All(other, x => Assert.Equal(0.0, x));   // cleared for a new owner
        ThreadWorkspace<double>.Return(other, b);

        var larger = ThreadWorkspace<double>.Rent(101, b);
        Assert.NotSame(first, larger);  // too short: a new one
        Assert.Equal(101, larger.Length);
        ThreadWorkspace<double>.Return(larger, b);
        Assert.Same(larger, ThreadWorkspace<double>.Rent(50, b));   // the longer one is kept

        var huge = new double[ThreadWorkspace<double>.MaxKeptLength + 1];
        ThreadWorkspace<double>.Return(huge, b);
        Assert.NotSame(huge, ThreadWorkspace<double>.Rent(10, b));
    }
}
