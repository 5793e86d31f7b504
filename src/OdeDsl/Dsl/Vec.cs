namespace OdeDsl;

/// <summary>
/// An eager vector of floats: what a dynamics method manipulates when it runs as written (the reference).
/// The generator never executes these operators; it reads the method's syntax instead.
/// </summary>
public readonly struct Vec
{
    private readonly float[] _data;

    public Vec(float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        _data = data;
    }

    public static Vec Of(params float[] values) => new((float[])values.Clone());
    public static Vec Zeros(int length) => new(new float[length]);

    public int Length => _data.Length;
    public float this[int i] => _data[i];
    public Vec this[Range r] => new(_data[r]);
    public ReadOnlySpan<float> AsSpan() => _data;
    public float[] ToArray() => (float[])_data.Clone();

    internal float[] Data => _data;

    public static Vec Map(Vec x, Func<float, float> f)
    {
        var y = new float[x.Length];
        for (int i = 0; i < y.Length; i++) y[i] = f(x._data[i]);
        return new Vec(y);
    }

    public static Vec Zip(Vec x, Vec y, Func<float, float, float> f)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Vectors of length {x.Length} and {y.Length} cannot be combined element-wise.");
        var z = new float[x.Length];
        for (int i = 0; i < z.Length; i++) z[i] = f(x._data[i], y._data[i]);
        return new Vec(z);
    }

    public static Vec operator +(Vec x, Vec y) => Zip(x, y, (a, b) => a + b);
    public static Vec operator -(Vec x, Vec y) => Zip(x, y, (a, b) => a - b);
    public static Vec operator *(Vec x, Vec y) => Zip(x, y, (a, b) => a * b);
    public static Vec operator /(Vec x, Vec y) => Zip(x, y, (a, b) => a / b);
    public static Vec operator +(Vec x, float s) => Map(x, a => a + s);
    public static Vec operator -(Vec x, float s) => Map(x, a => a - s);
    public static Vec operator *(Vec x, float s) => Map(x, a => a * s);
    public static Vec operator /(Vec x, float s) => Map(x, a => a / s);
    public static Vec operator +(float s, Vec x) => Map(x, a => s + a);
    public static Vec operator -(float s, Vec x) => Map(x, a => s - a);
    public static Vec operator *(float s, Vec x) => Map(x, a => s * a);
    public static Vec operator /(float s, Vec x) => Map(x, a => s / a);
    public static Vec operator -(Vec x) => Map(x, a => -a);

    public override string ToString() => "[" + string.Join(", ", _data) + "]";
}
