namespace OdeDsl.Gpu;

/// <summary>
/// A dynamics type's device functions, implemented by the generator's <c>{Nested}Device.F32/F64</c> structs in every
/// project that references OdeDsl.Gpu. Kernels take the struct as a generic argument (ILGPU specialises them per
/// type); each call handles one trajectory and allocates nothing. <paramref name="work"/> needs
/// <see cref="WorkLength"/> elements per trajectory.
/// </summary>
public interface IDeviceDynamics<T> where T : unmanaged
{
    int StateSize { get; }
    int ParameterCount { get; }
    int WorkLength { get; }

    /// <summary>dh = f(t, h, θ).</summary>
    void Forward(T t, DeviceVector<T> h, DeviceVector<T> theta, DeviceVector<T> dh, DeviceVector<T> work);

    /// <summary>gradH = cotangentᵀ ∂f/∂h, gradTheta = cotangentᵀ ∂f/∂θ (both overwritten).</summary>
    void VectorJacobianProduct(T t, DeviceVector<T> h, DeviceVector<T> theta, DeviceVector<T> cotangent,
        DeviceVector<T> gradH, DeviceVector<T> gradTheta, DeviceVector<T> work);

    /// <summary>jvp = ∂f/∂h · tangent.</summary>
    void JacobianVectorProduct(T t, DeviceVector<T> h, DeviceVector<T> theta, DeviceVector<T> tangent, DeviceVector<T> jvp, DeviceVector<T> work);

    /// <summary>dh = f(t, h, θ); returns tr ∂f/∂h exactly.</summary>
    T ForwardWithDivergence(T t, DeviceVector<T> h, DeviceVector<T> theta, DeviceVector<T> dh, DeviceVector<T> work);
}
