using System.Numerics;
using System.Runtime.CompilerServices;

namespace OdeDsl.Tensors;

/// <summary>Scalar pieces shared by the microkernels: the α/β update and merging a partial tile into C.</summary>
internal static unsafe class GemmTile
{
    /// <summary>α·product + β·c, never reading c when β = 0 (so NaN in an unwritten C is ignored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Combine<T>(T product, T c, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
        => readC ? alpha * product + beta * c : alpha * product;

    /// <summary>C[r, j] = Combine(tile[r, j], C[r, j]) for the rows × cols corner that exists in C.</summary>
    public static void Merge<T>(T* tile, int tileStride, T* c, nint ldc, int rows, int cols, T alpha, T beta, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T* t = tile + r * tileStride, cr = c + r * ldc;
            for (int j = 0; j < cols; j++) cr[j] = Combine(t[j], cr[j], alpha, beta, readC);
        }
    }
}

/// <summary>
/// Per-thread packing buffers, grown on demand and then reused, so GEMM calls allocate nothing in steady state.
/// Allocated on the pinned object heap: the driver takes raw pointers into them.
/// </summary>
internal static unsafe class GemmScratch<T> where T : unmanaged
{
    public const int PackedB = 0, Tail = 1, Transposed = 2, LeftRows = 3;

    [ThreadStatic] private static T[]? s_packedB;
    [ThreadStatic] private static T[]? s_tail;
    [ThreadStatic] private static T[]? s_transposed;
    [ThreadStatic] private static T[]? s_leftRows;

    public static T* Get(int slot, int length)
    {
        ref T[]? buffer = ref s_packedB;
        if (slot == Tail) buffer = ref s_tail;
        else if (slot == Transposed) buffer = ref s_transposed;
        else if (slot == LeftRows) buffer = ref s_leftRows;
        if (buffer is null || buffer.Length < length)
            buffer = GC.AllocateUninitializedArray<T>(Math.Max(length, 2 * (buffer?.Length ?? 0)), pinned: true);
        return (T*)Unsafe.AsPointer(ref buffer[0]);
    }
}
