namespace OdeDsl;

/// <summary>
/// The functions a dynamics method may call (use with <c>using static OdeDsl.Ops;</c>). Each has a plain eager
/// implementation so the method runs as written; the generator maps each to a primitive with analytic derivatives.
/// </summary>
public static partial class Ops
{
    public static float Tanh(float x) => MathF.Tanh(x);
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
    public static float Relu(float x) => x > 0 ? x : 0;
    // Stable form: log(1 + eˣ) = max(x, 0) + log(1 + e^{−|x|}).
    public static float Softplus(float x) => MathF.Max(x, 0) + MathF.Log(1 + MathF.Exp(-MathF.Abs(x)));
    public static float Elu(float x) => x > 0 ? x : MathF.Exp(x) - 1;
    public static float Exp(float x) => MathF.Exp(x);
    public static float Log(float x) => MathF.Log(x);
    public static float Sin(float x) => MathF.Sin(x);
    public static float Cos(float x) => MathF.Cos(x);
    public static float Sqrt(float x) => MathF.Sqrt(x);
    public static float Square(float x) => x * x;
    public static float Abs(float x) => MathF.Abs(x);
    public static float Pow(float x, float c) => MathF.Pow(x, c);

    public static Vec Tanh(Vec x) => Vec.Map(x, Tanh);
    public static Vec Sigmoid(Vec x) => Vec.Map(x, Sigmoid);
    public static Vec Relu(Vec x) => Vec.Map(x, Relu);
    public static Vec Softplus(Vec x) => Vec.Map(x, Softplus);
    public static Vec Elu(Vec x) => Vec.Map(x, Elu);
    public static Vec Exp(Vec x) => Vec.Map(x, Exp);
    public static Vec Log(Vec x) => Vec.Map(x, Log);
    public static Vec Sin(Vec x) => Vec.Map(x, Sin);
    public static Vec Cos(Vec x) => Vec.Map(x, Cos);
    public static Vec Sqrt(Vec x) => Vec.Map(x, Sqrt);
    public static Vec Square(Vec x) => Vec.Map(x, Square);
    public static Vec Abs(Vec x) => Vec.Map(x, Abs);
    public static Vec Pow(Vec x, float c) => Vec.Map(x, a => MathF.Pow(a, c));

    public static float Dot(Vec x, Vec y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Dot of vectors of length {x.Length} and {y.Length}.");
        float s = 0;
        for (int i = 0; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }

    public static float Sum(Vec x)
    {
        float s = 0;
        for (int i = 0; i < x.Length; i++) s += x[i];
        return s;
    }

    public static float Mean(Vec x) => Sum(x) / x.Length;

    public static Mat Transpose(Mat m) => m.Transpose();

    public static Mat Outer(Vec x, Vec y)
    {
        var d = new float[x.Length * y.Length];
        for (int i = 0; i < x.Length; i++)
            for (int j = 0; j < y.Length; j++) d[i * y.Length + j] = x[i] * y[j];
        return new Mat(x.Length, y.Length, d);
    }

    public static Vec Concat(Vec x, Vec y) => new([.. x.AsSpan(), .. y.AsSpan()]);
    public static Vec Concat(Vec x, float s) => new([.. x.AsSpan(), s]);
    public static Vec Concat(float s, Vec x) => new([s, .. x.AsSpan()]);
}
