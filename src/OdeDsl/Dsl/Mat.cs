namespace OdeDsl;

/// <summary>An eager row-major matrix of floats (the reference semantics of <c>Mat</c> in dynamics methods).</summary>
public readonly struct Mat
{
    private readonly float[] _data;

    public Mat(int rows, int cols, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length != rows * cols) throw new ArgumentException($"A {rows}×{cols} matrix needs {rows * cols} elements, got {data.Length}.");
        Rows = rows;
        Cols = cols;
        _data = data;
    }

    public int Rows { get; }
    public int Cols { get; }
    public float this[int i, int j] => _data[i * Cols + j];
    /// <summary>Row i as a vector.</summary>
    public Vec this[int i] => new(_data.AsSpan(i * Cols, Cols).ToArray());
    public ReadOnlySpan<float> AsSpan() => _data;

    public static Vec operator *(Mat m, Vec x)
    {
        if (m.Cols != x.Length) throw new ArgumentException($"A {m.Rows}×{m.Cols} matrix cannot multiply a vector of length {x.Length}.");
        var y = new float[m.Rows];
        var xs = x.AsSpan();
        for (int i = 0; i < m.Rows; i++)
        {
            float s = 0;
            for (int j = 0; j < m.Cols; j++) s += m._data[i * m.Cols + j] * xs[j];
            y[i] = s;
        }
        return new Vec(y);
    }

    public Mat Transpose()
    {
        var d = new float[_data.Length];
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Cols; j++) d[j * Rows + i] = _data[i * Cols + j];
        return new Mat(Cols, Rows, d);
    }
}
