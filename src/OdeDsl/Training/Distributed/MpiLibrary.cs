using System.Runtime.InteropServices;

namespace OdeDsl.Training.Distributed;

/// <summary>
/// A thin binding to Open MPI's C API (libmpi.so.40), loaded on first use with <see cref="NativeLibrary"/>, so MPI stays
/// an optional dependency: nothing here runs unless a program asks for <see cref="ProcessGroup.InitializeMpi"/>.
/// </summary>
/// <remarks>
/// Why not the MPI.NET 1.4.0 package (measured, docs/distributed.md): it P/Invokes "msmpi.dll" and hard-codes MS-MPI's
/// handle integers (MPI_COMM_WORLD = 0x44000000, MPI_DOUBLE = 0x4c00080b); redirected to Open MPI's libmpi it
/// segfaults in its first collective.
/// <para>Open MPI's handles are not integers: MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM, … are the addresses of exported
/// globals (mpi.h: <c>#define MPI_COMM_WORLD OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)</c>, i.e.
/// <c>&amp;ompi_mpi_comm_world</c>), so each handle here is <see cref="NativeLibrary.GetExport"/> of that symbol, passed as a
/// pointer. MPICH and MS-MPI use int handles instead; a library without <c>ompi_mpi_comm_world</c> is refused with a clear
/// message rather than called with the wrong ABI.</para>
/// </remarks>
internal sealed unsafe class MpiLibrary
{
    /// <summary>Environment variable naming the libmpi to load instead of the defaults.</summary>
    public const string LibraryVariable = "ODEDSL_MPI_LIBRARY";

    private static readonly string[] DefaultNames = ["libmpi.so.40", "libmpi.so"];
    private const int MpiSuccess = 0, RtldNow = 2, RtldGlobal = 0x100;

    /// <summary>Open MPI's MPI_IN_PLACE, <c>((void *) 1)</c> in its mpi.h (MPICH uses −1).</summary>
    public static readonly void* InPlace = (void*)1;

    public readonly nint CommWorld, Double, Float, Byte, Sum, ErrorsReturn;
    public readonly string LoadedFrom;

    private readonly delegate* unmanaged<int*, int> _initialized, _finalized;
    private readonly delegate* unmanaged<int*, nint, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<nint, int*, int> _commRank, _commSize;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> _allgather;
    private readonly delegate* unmanaged<void*, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<nint, nint, int> _commSetErrhandler;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;

    private MpiLibrary(nint handle, string loadedFrom)
    {
        LoadedFrom = loadedFrom;
        if (!NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out CommWorld))
            throw new MpiUnavailableException(
                $"'{loadedFrom}' is not Open MPI (it exports no ompi_mpi_comm_world). OdeDsl binds Open MPI's ABI, where MPI handles are " +
                "addresses of globals; MPICH-family libraries use integer handles and are not supported. Install Open MPI " +
                $"(apt-get install openmpi-bin libopenmpi-dev) or point {LibraryVariable} at its libmpi.so.");
        Double = Export(handle, "ompi_mpi_double");
        Float = Export(handle, "ompi_mpi_float");
        Byte = Export(handle, "ompi_mpi_byte");
        Sum = Export(handle, "ompi_mpi_op_sum");
        ErrorsReturn = Export(handle, "ompi_mpi_errors_return");
        _initialized = (delegate* unmanaged<int*, int>)Export(handle, "MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)Export(handle, "MPI_Finalized");
        _initThread = (delegate* unmanaged<int*, nint, int, int*, int>)Export(handle, "MPI_Init_thread");
        _finalize = (delegate* unmanaged<int>)Export(handle, "MPI_Finalize");
        _commRank = (delegate* unmanaged<nint, int*, int>)Export(handle, "MPI_Comm_rank");
        _commSize = (delegate* unmanaged<nint, int*, int>)Export(handle, "MPI_Comm_size");
        _allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export(handle, "MPI_Allreduce");
        _allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export(handle, "MPI_Allgather");
        _bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export(handle, "MPI_Bcast");
        _barrier = (delegate* unmanaged<nint, int>)Export(handle, "MPI_Barrier");
        _abort = (delegate* unmanaged<nint, int, int>)Export(handle, "MPI_Abort");
        _commSetErrhandler = (delegate* unmanaged<nint, nint, int>)Export(handle, "MPI_Comm_set_errhandler");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Export(handle, "MPI_Error_string");

        static nint Export(nint handle, string name) =>
            NativeLibrary.TryGetExport(handle, name, out nint address) ? address
                : throw new MpiUnavailableException($"The MPI library does not export '{name}'; it is not a usable Open MPI (4.x) build.");
    }

    private static MpiLibrary? s_loaded;
    private static readonly Lock s_gate = new();

    /// <summary>Loads libmpi once (from <see cref="LibraryVariable"/> or the default names) or throws <see cref="MpiUnavailableException"/>.</summary>
    public static MpiLibrary Load()
    {
        lock (s_gate)
        {
            string? chosen = Environment.GetEnvironmentVariable(LibraryVariable);
            return s_loaded ??= LoadFrom(string.IsNullOrWhiteSpace(chosen) ? DefaultNames : [chosen]);
        }
    }

    /// <summary>Binds the first of <paramref name="candidates"/> that loads (names or paths); no caching.</summary>
    internal static MpiLibrary LoadFrom(IReadOnlyList<string> candidates)
    {
        foreach (string name in candidates)
        {
            // RTLD_GLOBAL: Open MPI dlopens its own plugins (mca_*.so), which resolve symbols of libmpi/libopen-pal
            // through the global namespace; NativeLibrary.Load would open libmpi RTLD_LOCAL.
            nint handle = OperatingSystem.IsLinux() ? DlOpen(name, RtldNow | RtldGlobal) : 0;
            if (handle == 0 && NativeLibrary.TryLoad(name, out nint h)) handle = h;
            if (handle != 0) return new MpiLibrary(handle, name);
        }
        throw new MpiUnavailableException(
            $"--distributed needs an MPI library, but none could be loaded (tried {string.Join(", ", candidates)}). Install Open MPI " +
            $"(Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev), or set {LibraryVariable} to the path of its libmpi.so, " +
            "and start the program with mpirun -np N.");
    }

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpenNative(string file, int mode);

    private static nint DlOpen(string file, int mode)
    {
        try { return DlOpenNative(file, mode); }
        catch (DllNotFoundException) { return 0; }
        catch (EntryPointNotFoundException) { return 0; }
    }

    public bool IsInitialized { get { int flag; Check(_initialized(&flag), "MPI_Initialized"); return flag != 0; } }

    public bool IsFinalized { get { int flag; Check(_finalized(&flag), "MPI_Finalized"); return flag != 0; } }

    /// <summary>
    /// MPI_Init_thread(MPI_THREAD_FUNNELED): a .NET process always has several threads (GC, finaliser, the solvers' worker),
    /// and only the thread that initialised MPI calls it. Then MPI_ERRORS_RETURN on MPI_COMM_WORLD, so a failed call
    /// becomes an exception naming the call.
    /// </summary>
    public void Init()
    {
        const int threadFunneled = 1; // Open MPI's mpi.h: MPI_THREAD_SINGLE 0, FUNNELED 1, SERIALIZED 2, MULTIPLE 3
        int provided;
        Check(_initThread(null, 0, threadFunneled, &provided), "MPI_Init_thread");
        Check(_commSetErrhandler(CommWorld, ErrorsReturn), "MPI_Comm_set_errhandler");
    }

    public void FinalizeMpi() => Check(_finalize(), "MPI_Finalize");

    public int Rank() { int r; Check(_commRank(CommWorld, &r), "MPI_Comm_rank"); return r; }

    public int Size() { int s; Check(_commSize(CommWorld, &s), "MPI_Comm_size"); return s; }

    public void Allreduce(void* send, void* receive, int count, nint type) =>
        Check(_allreduce(send, receive, count, type, Sum, CommWorld), "MPI_Allreduce");

    public void Allgather(void* send, int count, nint type, void* receive) =>
        Check(_allgather(send, count, type, receive, count, type, CommWorld), "MPI_Allgather");

    public void Broadcast(void* buffer, int count, nint type, int root) => Check(_bcast(buffer, count, type, root, CommWorld), "MPI_Bcast");

    public void Barrier() => Check(_barrier(CommWorld), "MPI_Barrier");

    public void Abort(int code) => _abort(CommWorld, code);

    private void Check(int code, string call)
    {
        if (code == MpiSuccess) return;
        byte* text = stackalloc byte[512]; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        int length = 0;
        string detail = _errorString is not null && _errorString(code, text, &length) == MpiSuccess
            ? System.Text.Encoding.ASCII.GetString(text, Math.Clamp(length, 0, 512)) : "no error string";
        throw new MpiException(call, code, detail);
    }
}

/// <summary>No usable MPI library: the message says what was tried and how to install or select one.</summary>
public sealed class MpiUnavailableException(string message) : Exception(message);

/// <summary>An MPI call returned an error code (MPI_ERRORS_RETURN is set on MPI_COMM_WORLD).</summary>
public sealed class MpiException(string call, int code, string detail)
    : Exception($"{call} failed with MPI error {code}: {detail}")
{
    public string Call { get; } = call;
    public int ErrorCode { get; } = code;
}
