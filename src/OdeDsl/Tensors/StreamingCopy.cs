using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OdeDsl.Tensors;

/// <summary>
/// A copy with non-temporal stores, for data written now and read much later: backprop's kept activations, tens of MB per
/// solve. Ordinary stores first read each destination line into the cache and then evict the working set with it. On the
/// CNF bench's forward solve (50 evaluations keeping 256 KB each, one thread, a shared machine) keeping cost about
/// 1.2 ms per solve with ordinary stores and 1.0 ms with these (docs/performance.md). Falls back to an ordinary copy
/// without AVX or for short spans.
/// </summary>
internal static unsafe class StreamingCopy
{
    private const int MinBytes = 16 * 1024;

    public static void Copy<T>(ReadOnlySpan<T> source, Span<T> destination) where T : unmanaged
    {
        if (destination.Length < source.Length) throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        long bytes = (long)source.Length * sizeof(T);
        if (bytes < MinBytes || !Vector256.IsHardwareAccelerated || !Sse.IsSupported)
        {
            source.CopyTo(destination);
            return;
        }
        fixed (T* ps = source, pd = destination)
        {
            byte* s = (byte*)ps, d = (byte*)pd;
            long head = (32 - ((nint)d & 31)) & 31;   // up to the first 32-byte boundary of the destination
            Buffer.MemoryCopy(s, d, head, head);
            long i = head;
            for (; i + 128 <= bytes; i += 128)
            {
                Vector256.StoreAlignedNonTemporal(Vector256.Load(s + i), d + i);
                Vector256.StoreAlignedNonTemporal(Vector256.Load(s + i + 32), d + i + 32);
                Vector256.StoreAlignedNonTemporal(Vector256.Load(s + i + 64), d + i + 64);
                Vector256.StoreAlignedNonTemporal(Vector256.Load(s + i + 96), d + i + 96);
            }
            for (; i + 32 <= bytes; i += 32) Vector256.StoreAlignedNonTemporal(Vector256.Load(s + i), d + i);
            Buffer.MemoryCopy(s + i, d + i, bytes - i, bytes - i);
            Sse.StoreFence();   // the streaming stores are weakly ordered: finish them before anyone reads the copy
        }
    }
}
