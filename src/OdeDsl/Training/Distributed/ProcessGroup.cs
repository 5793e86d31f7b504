using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OdeDsl.Training.Distributed;

/// <summary>
/// The processes that train one model together: their number, this one's rank, and the few collectives data-parallel
/// training needs. <see cref="Single"/> is one process without MPI (every collective is the identity), so a training
/// loop written against a group runs unchanged with and without mpirun.
/// </summary>
public abstract class ProcessGroup : IDisposable
{
    /// <summary>One process, no MPI.</summary>
    public static ProcessGroup Single { get; } = new SingleProcessGroup();

    /// <summary>
    /// Loads Open MPI (only now: MPI is an optional dependency), calls MPI_Init and returns MPI_COMM_WORLD as a group.
    /// Throws <see cref="MpiUnavailableException"/> with install instructions when no libmpi can be loaded.
    /// Dispose the group to call MPI_Finalize. Started without mpirun, Open MPI runs as a singleton (size 1).
    /// </summary>
    public static ProcessGroup InitializeMpi() => new MpiProcessGroup(MpiLibrary.Load());

    public abstract int Rank { get; }
    public abstract int Size { get; }

    /// <summary>Rank 0 writes checkpoints, metrics and figures, and is the source of every broadcast.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>A short description for logs ("1 process" or "rank 1 of 4, Open MPI (libmpi.so.40)").</summary>
    public abstract string Description { get; }

    /// <summary>Overwrites <paramref name="values"/> on every rank with rank 0's copy (bitwise; any unmanaged type).</summary>
    public abstract void Broadcast<T>(Span<T> values) where T : unmanaged;

    /// <summary>
    /// Every rank's <paramref name="local"/> (all the same length), concatenated in rank order into
    /// <paramref name="all"/> (length Size × local.Length) on every rank.
    /// </summary>
    public abstract void AllGather<T>(ReadOnlySpan<T> local, Span<T> all) where T : unmanaged;

    /// <summary>MPI_Allreduce with MPI_SUM, in place, for float and double. The summation order is Open MPI's choice.</summary>
    public abstract void AllReduceSum<T>(Span<T> values) where T : unmanaged;

    public abstract void Barrier();

    /// <summary>Stops every process of the group now (MPI_Abort) with <paramref name="exitCode"/>; does not return.</summary>
    public abstract void Abort(int exitCode);

    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>The contiguous block of a global batch of <paramref name="globalBatch"/> rows that this rank trains on:
    /// rows are split as evenly as possible, the first (globalBatch mod Size) ranks taking one more.</summary>
    public (int Start, int Count) Shard(int globalBatch) => Shard(globalBatch, Rank, Size);

    public static (int Start, int Count) Shard(int globalBatch, int rank, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, size);
        if (globalBatch < size)
            throw new ArgumentOutOfRangeException(nameof(globalBatch), globalBatch,
                $"A global batch of {globalBatch} cannot give each of {size} ranks a row; use a batch of at least {size} or fewer ranks.");
        int baseCount = globalBatch / size, extra = globalBatch % size;
        return (rank * baseCount + Math.Min(rank, extra), baseCount + (rank < extra ? 1 : 0));
    }
}

internal sealed class SingleProcessGroup : ProcessGroup
{
    public override int Rank => 0;
    public override int Size => 1;
    public override string Description => "1 process (no MPI)";
    public override void Broadcast<T>(Span<T> values) { }

    public override void AllGather<T>(ReadOnlySpan<T> local, Span<T> all)
    {
        if (all.Length != local.Length) throw new ArgumentException($"AllGather over 1 process needs an output of {local.Length}; got {all.Length}.", nameof(all));
        local.CopyTo(all);
    }

    public override void AllReduceSum<T>(Span<T> values) { }
    public override void Barrier() { }
    public override void Abort(int exitCode) => Environment.Exit(exitCode);
}

internal sealed unsafe class MpiProcessGroup : ProcessGroup
{
    private readonly MpiLibrary _mpi;
    private bool _disposed;

    public MpiProcessGroup(MpiLibrary mpi)
    {
        _mpi = mpi;
        if (_mpi.IsFinalized) throw new InvalidOperationException("MPI was already finalised in this process; MPI cannot be initialised twice.");
        if (!_mpi.IsInitialized) _mpi.Init();
        Rank = _mpi.Rank();
        Size = _mpi.Size();
    }

    public override int Rank { get; }
    public override int Size { get; }
    public override string Description => $"rank {Rank} of {Size}, Open MPI ({_mpi.LoadedFrom})";

    public override void Broadcast<T>(Span<T> values)
    {
        var bytes = MemoryMarshal.AsBytes(values);
        fixed (byte* p = bytes) _mpi.Broadcast(p, bytes.Length, _mpi.Byte, root: 0);
    }

    public override void AllGather<T>(ReadOnlySpan<T> local, Span<T> all)
    {
        if (all.Length != (long)local.Length * Size)
            throw new ArgumentException($"AllGather over {Size} ranks of {local.Length} values needs an output of {(long)local.Length * Size}; got {all.Length}.", nameof(all));
        int bytes = checked(local.Length * Unsafe.SizeOf<T>());
        fixed (T* s = local)
        fixed (T* r = all)
            _mpi.Allgather(s, bytes, _mpi.Byte, r);
    }

    public override void AllReduceSum<T>(Span<T> values)
    {
        nint type = typeof(T) == typeof(double) ? _mpi.Double
            : typeof(T) == typeof(float) ? _mpi.Float
            : throw new NotSupportedException($"AllReduceSum supports float and double, not {typeof(T).Name}.");
        fixed (T* p = values) _mpi.Allreduce(MpiLibrary.InPlace, p, values.Length, type);
    }

    public override void Barrier() => _mpi.Barrier();

    public override void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        _mpi.Abort(exitCode);
        Environment.Exit(exitCode); // MPI_Abort does not return in Open MPI; this is the belt to its braces
    }

    public override void Dispose()
    {
        if (!_disposed && !_mpi.IsFinalized) _mpi.FinalizeMpi();
        _disposed = true;
        base.Dispose();
    }
}
