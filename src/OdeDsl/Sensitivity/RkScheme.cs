using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl;

/// <summary>
/// An explicit Runge-Kutta method as backprop replays it: the tableau (A strictly lower triangular, b, c) and a dense
/// interpolant written over the stages, y(t_n + θh) = y_n + h Σ_i w_i(θ) k_i with w_i a polynomial in θ, w_i(0) = 0.
/// Every interpolant the solvers use has this form (each is linear in y_n, y_{n+1}, hf_n and the stages).
/// </summary>
internal sealed class RkScheme<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <param name="a">[s·s] row-major, strictly lower triangular.</param>
    /// <param name="b">[s] the weights of the step.</param>
    /// <param name="c">[s] the stage times as fractions of the step.</param>
    /// <param name="interpolation">[s, degree]: w_i(θ) = Σ_p interpolation[i, p] θ^(p+1).</param>
    /// <param name="degree">The interpolant's degree in θ.</param>
    public RkScheme(double[] a, double[] b, double[] c, double[] interpolation, int degree)
    {
        Stages = b.Length;
        A = a.Select(T.CreateChecked).ToArray();
        B = b.Select(T.CreateChecked).ToArray();
        C = c.Select(T.CreateChecked).ToArray();
        Interpolation = interpolation.Select(T.CreateChecked).ToArray();
        Degree = degree;
        if (A.Length != Stages * Stages || C.Length != Stages || Interpolation.Length != Stages * degree)
            throw new ArgumentException("Tableau arrays have inconsistent lengths.");
        LastStageIsNextFirst = EvaluatesAtStepEnd(a, b, c);
    }

    /// <summary>
    /// The last stage is f(t_n + h, y_{n+1}) (c = 1, its row of A equals b, its own weight 0): the FSAL stage or the solver's
    /// next-f slot. It is then the same evaluation as the next step's first stage, so backprop runs one VJP for the two.
    /// </summary>
    public bool LastStageIsNextFirst { get; }

    private static bool EvaluatesAtStepEnd(double[] a, double[] b, double[] c)
    {
        int s = b.Length, e = s - 1;
        if (s < 2 || c[e] != 1 || b[e] != 0) return false;
        for (int l = 0; l < e; l++)
            if (a[e * s + l] != b[l]) return false;
        return true;
    }

    /// <summary>The scheme of an explicit Runge-Kutta method (built once per tableau); other methods cannot be replayed step by step.</summary>
    public static RkScheme<T> For(OdeMethod method) => RkSchemes.From<T>(method);

    public int Stages { get; }
    public T[] A { get; }
    public T[] B { get; }
    public T[] C { get; }
    public T[] Interpolation { get; }
    public int Degree { get; }

    /// <summary>dst = y + h Σ_{l&lt;i} a_il k_l: the state at which stage i is evaluated.</summary>
    public void StageState(int i, T h, ReadOnlySpan<T> y, ReadOnlySpan<T> k, Span<T> dst)
    {
        int n = y.Length;
        y.CopyTo(dst);
        for (int l = 0; l < i; l++)
        {
            T a = A[i * Stages + l];
            if (a == T.Zero) continue;
            TensorPrimitives.MultiplyAdd(k.Slice(l * n, n), h * a, dst, dst);
        }
    }

    /// <summary>y += h Σ b_i k_i.</summary>
    public void Advance(T h, ReadOnlySpan<T> k, Span<T> y)
    {
        int n = y.Length;
        for (int i = 0; i < Stages; i++)
        {
            T hb = h * B[i];
            if (hb == T.Zero) continue;
            TensorPrimitives.MultiplyAdd(k.Slice(i * n, n), hb, y, y);
        }
    }

    /// <summary>w_i(θ) and dw_i/dθ.</summary>
    public void InterpolationWeights(T theta, Span<T> w, Span<T> dw)
    {
        for (int i = 0; i < Stages; i++)
        {
            T value = T.Zero, slope = T.Zero, power = T.One;   // power = θ^p
            for (int p = 0; p < Degree; p++)
            {
                T coefficient = Interpolation[i * Degree + p];
                slope += coefficient * T.CreateChecked(p + 1) * power;
                power *= theta;
                value += coefficient * power;
            }
            w[i] = value;
            dw[i] = slope;
        }
    }
}
