namespace OdeDsl;

/// <summary>
/// An eager row-major tensor of floats, e.g. a [channels, height, width] feature map or a [out, in, kh, kw] kernel:
/// the reference semantics of <c>Tensor</c> in dynamics methods. Operations live in <see cref="Ops"/>.
/// </summary>
public readonly struct Tensor
{
    private readonly float[] _data;
    private readonly int[] _shape;

    public Tensor(int[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        int n = 1;
        foreach (int d in shape) n *= d;
        if (n != data.Length) throw new ArgumentException($"Shape [{string.Join(", ", shape)}] needs {n} elements, got {data.Length}.");
        _shape = (int[])shape.Clone();
        _data = data;
    }

    public ReadOnlySpan<int> Shape => _shape;
    public int Length => _data.Length;
    public ReadOnlySpan<float> AsSpan() => _data;
    public float[] ToArray() => (float[])_data.Clone();
    internal float[] Data => _data;
    internal int[] ShapeArray => _shape;

    public Tensor Map(Func<float, float> f)
    {
        var y = new float[_data.Length];
        for (int i = 0; i < y.Length; i++) y[i] = f(_data[i]);
        return new Tensor(_shape, y);
    }

    private static Tensor Zip(Tensor x, Tensor y, Func<float, float, float> f)
    {
        if (!x.Shape.SequenceEqual(y.Shape))
            throw new ArgumentException($"Tensors of shape [{string.Join(", ", x._shape)}] and [{string.Join(", ", y._shape)}] cannot be combined.");
        var z = new float[x.Length];
        for (int i = 0; i < z.Length; i++) z[i] = f(x._data[i], y._data[i]);
        return new Tensor(x._shape, z);
    }

    public static Tensor operator +(Tensor x, Tensor y) => Zip(x, y, (a, b) => a + b);
    public static Tensor operator -(Tensor x, Tensor y) => Zip(x, y, (a, b) => a - b);
    public static Tensor operator *(Tensor x, Tensor y) => Zip(x, y, (a, b) => a * b);
    public static Tensor operator *(Tensor x, float s) => x.Map(a => a * s);
    public static Tensor operator *(float s, Tensor x) => x.Map(a => s * a);
    public static Tensor operator +(Tensor x, float s) => x.Map(a => a + s);
    public static Tensor operator -(Tensor x) => x.Map(a => -a);
}
