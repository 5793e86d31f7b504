using System.Numerics;
using OdeDsl.Tensors;

namespace OdeDsl.Flows;

/// <summary>The sizes of a <see cref="HyperPlanarField{TSpec}"/>, as static members of a marker type.</summary>
public interface IHyperPlanarSpec
{
    static abstract int Dimension { get; }
    /// <summary>Hidden width of the hypernetwork (cnf.py: 32).</summary>
    static abstract int HyperHidden { get; }
    /// <summary>M, the number of planar units (cnf.py: width 64; Fig. 4 uses 2, 8, 32).</summary>
    static abstract int Width { get; }
}

/// <summary>
/// The planar CNF of Chen et al. 2018 §4 with parameters from a hypernetwork of t, as torchdiffeq's examples/cnf.py:
/// dz/dt = (1/M) Σₙ uₙ(t) tanh(wₙ(t)ᵀz + bₙ(t)), uₙ = ûₙ ⊙ σ(ĝₙ), where [w, û, ĝ, b] = fc3(tanh(fc2(tanh(fc1(t))))).
/// θ is laid out as the PyTorch module's state: fc1.weight [H, 1], fc1.bias, fc2.weight [H, H], fc2.bias,
/// fc3.weight [3Md + M, H], fc3.bias, with fc3's output ordered as cnf.py reshapes it (W [M, d], U [M, d], G [M, d], B [M]).
/// </summary>
/// <remarks>
/// The hypernetwork runs once per call (every row shares t) and its output becomes the effective weights of a
/// d → M → d tanh network, so the batched work is two thin products; the reverse sweep maps the effective weights'
/// gradients back through the hypernetwork, which also gives ∂/∂t.
/// </remarks>
public sealed class HyperPlanarField<TSpec> : ITanhNetField<HyperPlanarField<TSpec>> where TSpec : IHyperPlanarSpec
{
    private HyperPlanarField() { }

    internal static readonly NetShape Shape;
    static NetShape ITanhNetField<HyperPlanarField<TSpec>>.Shape => Shape;
    static void ITanhNetField<HyperPlanarField<TSpec>>.SetWeights<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> workspace, int batch, int directions)
        => SetWeights(t, theta, fr, workspace, batch, directions);
    static T ITanhNetField<HyperPlanarField<TSpec>>.MapGradients<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> gradTheta, Span<T> workspace, int batch, int directions)
        => MapGradients(t, theta, fr, gradTheta, workspace, batch, directions);
    private static readonly int D, H, M, P, Fc1W, Fc1B, Fc2W, Fc2B, Fc3W, Fc3B;

    static HyperPlanarField()
    {
        D = TSpec.Dimension; H = TSpec.HyperHidden; M = TSpec.Width;
        if (D < 1 || H < 1 || M < 1)
            throw new ArgumentException($"{typeof(TSpec).Name}: dimension, hypernetwork width and planar width must be positive.");
        P = 3 * M * D + M;
        Shape = new NetShape([D, M, D], [false, false]);
        Fc1W = 0; Fc1B = H; Fc2W = 2 * H; Fc2B = Fc2W + H * H; Fc3W = Fc2B + H; Fc3B = Fc3W + P * H;
        ParameterCount = Fc3B + P;
        Layout = new ParameterLayout(
            new ParameterInfo("fc1.weight", [H, 1], Fc1W, ParameterInit.FanIn(1)),
            new ParameterInfo("fc1.bias", [H], Fc1B, ParameterInit.FanIn(1)),
            new ParameterInfo("fc2.weight", [H, H], Fc2W, ParameterInit.FanIn(H)),
            new ParameterInfo("fc2.bias", [H], Fc2B, ParameterInit.FanIn(H)),
            new ParameterInfo("fc3.weight", [P, H], Fc3W, ParameterInit.FanIn(H)),
            new ParameterInfo("fc3.bias", [P], Fc3B, ParameterInit.FanIn(H)));
    }

    public static int Dimension => TSpec.Dimension;
    public static int ParameterCount { get; }
    public static ParameterLayout Layout { get; }

    /// <summary>The network's workspace, then the hypernetwork's h1, h2, output p and their reverse buffers.</summary>
    public static int WorkspaceLength(int batch, int directions) => Shape.WorkspaceLength(batch, directions) + 4 * H + 2 * P;

    public static void Forward<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, ReadOnlySpan<T> v, int directions,
        Span<T> f, Span<T> jv, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.Forward<HyperPlanarField<TSpec>, T>(t, z, theta, v, directions, f, jv, batch, workspace);

    /// <summary>Runs the hypernetwork at t and writes the planar units as the effective weights of the d → M → d network.</summary>
    private static void SetWeights<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> workspace, int batch, int directions)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var hyper = workspace.Slice(Shape.WorkspaceLength(batch, directions));
        Span<T> h1 = hyper.Slice(0, H), h2 = hyper.Slice(H, H), p = hyper.Slice(2 * H, P);
        for (int i = 0; i < H; i++) h1[i] = T.Tanh(theta[Fc1W + i] * t + theta[Fc1B + i]);
        MatVec(theta.Slice(Fc2W, H * H), H, H, h1, theta.Slice(Fc2B, H), h2);
        for (int i = 0; i < H; i++) h2[i] = T.Tanh(h2[i]);
        MatVec(theta.Slice(Fc3W, P * H), P, H, h2, theta.Slice(Fc3B, P), p);

        int md = M * D;
        p.Slice(0, md).CopyTo(fr.W(1));                 // wₙ = W[n, :]
        p.Slice(3 * md, M).CopyTo(fr.C(1));             // bₙ
        var w2 = fr.W(2);                               // [D, M]: uₙ,ᵢ σ(gₙ,ᵢ) / M
        T invM = T.One / T.CreateChecked(M);
        for (int n = 0; n < M; n++)
            for (int i = 0; i < D; i++)
                w2[i * M + n] = p[md + n * D + i] * Sigmoid(p[2 * md + n * D + i]) * invM;
        fr.C(2).Clear();
    }

    public static void ForwardTrace<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.ForwardTrace<HyperPlanarField<TSpec>, T>(t, z, theta, f, trace, batch, workspace);

    public static T Backward<T>(T t, ReadOnlySpan<T> theta, int directions, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotJv,
        Span<T> gradZ, Span<T> gradV, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.Backward<HyperPlanarField<TSpec>, T>(t, theta, directions, cotF, cotJv, gradZ, gradV, gradTheta, batch, workspace);

    public static T BackwardTrace<T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace,
        Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.BackwardTrace<HyperPlanarField<TSpec>, T>(t, theta, cotF, cotTrace, gradZ, gradTheta, batch, workspace);

    /// <summary>The effective weights' gradients (in the frame) back to θ and t.</summary>
    private static T MapGradients<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> gradTheta, Span<T> workspace, int batch, int directions)
        where T : unmanaged, IFloatingPointIeee754<T>
    {

        var hyper = workspace.Slice(Shape.WorkspaceLength(batch, directions));
        Span<T> h1 = hyper.Slice(0, H), h2 = hyper.Slice(H, H), p = hyper.Slice(2 * H, P);
        Span<T> pb = hyper.Slice(2 * H + P, P), h2b = hyper.Slice(2 * H + 2 * P, H), h1b = hyper.Slice(3 * H + 2 * P, H);
        int md = M * D;
        fr.GradW(1).CopyTo(pb.Slice(0, md));
        fr.GradC(1).CopyTo(pb.Slice(3 * md, M));
        var gw2 = fr.GradW(2);
        T invM = T.One / T.CreateChecked(M);
        for (int n = 0; n < M; n++)
            for (int i = 0; i < D; i++)
            {
                T g = gw2[i * M + n] * invM, s = Sigmoid(p[2 * md + n * D + i]);
                pb[md + n * D + i] = g * s;
                pb[2 * md + n * D + i] = g * p[md + n * D + i] * s * (T.One - s);
            }
        // fc3: p = W3 h2 + b3
        AddOuter(pb, h2, gradTheta.Slice(Fc3W, P * H), gradTheta.Slice(Fc3B, P));
        MatTVec(theta.Slice(Fc3W, P * H), P, H, pb, h2b);
        for (int i = 0; i < H; i++) h2b[i] *= T.One - h2[i] * h2[i];
        // fc2: a2 = W2 h1 + b2
        AddOuter(h2b, h1, gradTheta.Slice(Fc2W, H * H), gradTheta.Slice(Fc2B, H));
        MatTVec(theta.Slice(Fc2W, H * H), H, H, h2b, h1b);
        T gradT = T.Zero;
        for (int i = 0; i < H; i++)
        {
            T g = h1b[i] * (T.One - h1[i] * h1[i]);
            gradTheta[Fc1W + i] += g * t;
            gradTheta[Fc1B + i] += g;
            gradT += g * theta[Fc1W + i];
        }
        return gradT;
    }

    // The hypernetwork's products run once per call (fc3 is [3Md + M, H] = [448, 32] for cnf.py) and are a fixed cost
    // of every call, paid per row chunk: one GEMM each instead of a short vector call per row of fc3 (measured: the
    // per-call cost of cnf.py's field at 8 rows, docs/performance.md, "CNF step: per-call cost and chunking").

    /// <summary>y = A x + b, A [rows, cols] row-major.</summary>
    private static void MatVec<T>(ReadOnlySpan<T> a, int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gemm.Multiply<T>(false, false, rows, 1, cols, T.One, a, cols, x, 1, T.Zero, y, 1);
        System.Numerics.Tensors.TensorPrimitives.Add<T>(y.Slice(0, rows), b.Slice(0, rows), y.Slice(0, rows));
    }

    /// <summary>y = Aᵀ x, A [rows, cols] row-major.</summary>
    private static void MatTVec<T>(ReadOnlySpan<T> a, int rows, int cols, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Gemm.Multiply<T>(true, false, cols, 1, rows, T.One, a, cols, x, 1, T.Zero, y, 1);

    /// <summary>gradA += g xᵀ ([g.Length, x.Length]) and gradB += g: a linear layer's weight and bias gradients.</summary>
    private static void AddOuter<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> gradA, Span<T> gradB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gemm.Multiply<T>(false, false, g.Length, x.Length, 1, T.One, g, 1, x, x.Length, T.One, gradA, x.Length);
        System.Numerics.Tensors.TensorPrimitives.Add<T>(gradB, g, gradB);
    }

    private static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
}
