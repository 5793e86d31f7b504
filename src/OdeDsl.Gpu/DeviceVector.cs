using ILGPU;

namespace OdeDsl.Gpu;

/// <summary>
/// One trajectory's vector inside a device buffer: element i is <c>View[Offset + i·Stride]</c>. Stride 1 is a
/// contiguous vector (θ shared by all trajectories); stride N with offset = trajectory index interleaves N trajectories
/// component by component, so that neighbouring threads read neighbouring addresses (coalesced on a GPU).
/// A plain struct over an ArrayView: usable inside ILGPU kernels, allocates nothing.
/// </summary>
public readonly struct DeviceVector<T> where T : unmanaged
{
    public DeviceVector(ArrayView<T> view, long offset, long stride)
    {
        View = view;
        Offset = offset;
        Stride = stride;
    }

    public ArrayView<T> View { get; }
    public long Offset { get; }
    public long Stride { get; }

    public ref T this[int i] => ref View[Offset + i * Stride];
}
