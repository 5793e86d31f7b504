using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>How an <see cref="MlpField{TSpec}"/> sees time.</summary>
public enum TimeInput
{
    /// <summary>t appended to the input only: layer 1 acts on [z, t] (torchdiffeq cnf.py's plain MLP field).</summary>
    ConcatInput,
    /// <summary>t appended to every layer's input, [x, t] (the DSL's CnfField).</summary>
    ConcatEvery,
    /// <summary>
    /// FFJORD's concatsquash layers: (W x + b) ⊙ σ(g·t + g_b) + h·t on every layer (Grathwohl et al. 2019,
    /// ffjord/lib/layers/diffeq_layers/basic.py ConcatSquashLinear: hyper_gate with bias, hyper_bias without).
    /// </summary>
    ConcatSquash,
}

/// <summary>The architecture of an <see cref="MlpField{TSpec}"/>, as static members of a marker type.</summary>
public interface IMlpFieldSpec
{
    static abstract int Dimension { get; }
    /// <summary>Hidden widths, e.g. [64, 64] or FFJORD toy's [64, 64, 64]; tanh after each.</summary>
    static abstract int[] Hidden { get; }
    static abstract TimeInput Time { get; }
}

/// <summary>
/// A tanh MLP field d → hidden… → d with time entering as <typeparamref name="TSpec"/> says. θ is laid out per layer
/// l = 1 … L+1 as PyTorch's nn.Linear: W{l} [out, in (+1 with t)] then b{l} [out]; concatsquash layers add
/// gate{l} [out, 1], gateBias{l} [out] and hyperBias{l} [out, 1]. Default initialisers are nn.Linear's.
/// </summary>
public sealed class MlpField<TSpec> : ITanhNetField<MlpField<TSpec>> where TSpec : IMlpFieldSpec
{
    private MlpField() { }

    internal static readonly NetShape Shape;
    static NetShape ITanhNetField<MlpField<TSpec>>.Shape => Shape;
    static void ITanhNetField<MlpField<TSpec>>.SetWeights<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> workspace, int batch, int directions)
        => SetWeights(t, theta, fr, workspace, batch, directions);
    static T ITanhNetField<MlpField<TSpec>>.MapGradients<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> gradTheta, Span<T> workspace, int batch, int directions)
        => MapGradients(t, theta, fr, gradTheta, workspace, batch, directions);
    private static readonly int[] WTheta, BTheta, GTheta, GbTheta, HbTheta, InTheta;

    static MlpField()
    {
        int d = TSpec.Dimension;
        int[] hidden = TSpec.Hidden;
        if (d < 1 || hidden.Length < 1 || hidden.Any(h => h < 1))
            throw new ArgumentException($"{typeof(TSpec).Name}: the dimension and every hidden width must be positive, with at least one hidden layer.");
        int[] widths = [d, .. hidden, d];
        int layers = widths.Length - 1;
        bool squash = TSpec.Time == TimeInput.ConcatSquash;
        Shape = new NetShape(widths, Enumerable.Repeat(squash, layers).ToArray());
        WTheta = new int[layers + 1]; BTheta = new int[layers + 1]; GTheta = new int[layers + 1];
        GbTheta = new int[layers + 1]; HbTheta = new int[layers + 1]; InTheta = new int[layers + 1];
        var entries = new List<ParameterInfo>();
        int o = 0;
        for (int l = 1; l <= layers; l++)
        {
            int wo = widths[l], wi = widths[l - 1];
            int inCols = wi + (TimesColumn(l) ? 1 : 0);
            InTheta[l] = inCols;
            WTheta[l] = o;
            entries.Add(new ParameterInfo($"W{l}", [wo, inCols], o, ParameterInit.FanIn(inCols))); o += wo * inCols;
            BTheta[l] = o;
            entries.Add(new ParameterInfo($"b{l}", [wo], o, ParameterInit.FanIn(inCols))); o += wo;
            if (!squash) continue;
            GTheta[l] = o;
            entries.Add(new ParameterInfo($"gate{l}", [wo, 1], o, ParameterInit.FanIn(1))); o += wo;
            GbTheta[l] = o;
            entries.Add(new ParameterInfo($"gateBias{l}", [wo], o, ParameterInit.FanIn(1))); o += wo;
            HbTheta[l] = o;
            entries.Add(new ParameterInfo($"hyperBias{l}", [wo, 1], o, ParameterInit.FanIn(1))); o += wo;
        }
        Layout = new ParameterLayout(entries.ToArray());
        ParameterCount = o;
    }

    private static bool TimesColumn(int l) => TSpec.Time switch
    {
        TimeInput.ConcatInput => l == 1,
        TimeInput.ConcatEvery => true,
        _ => false,
    };

    public static int Dimension => TSpec.Dimension;
    public static int ParameterCount { get; }
    public static ParameterLayout Layout { get; }
    public static int WorkspaceLength(int batch, int directions) => Shape.WorkspaceLength(batch, directions);

    public static void Forward<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, ReadOnlySpan<T> v, int directions,
        Span<T> f, Span<T> jv, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.Forward<MlpField<TSpec>, T>(t, z, theta, v, directions, f, jv, batch, workspace);

    /// <summary>(θ, t) → the effective weights W_l, s_l, c_l in the frame.</summary>
    private static void SetWeights<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> workspace, int batch, int directions)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = Shape.Widths;
        bool squash = TSpec.Time == TimeInput.ConcatSquash;
        for (int l = 1; l <= Shape.Layers; l++)
        {
            int wo = w[l], wi = w[l - 1], ic = InTheta[l];
            var W = fr.W(l); var c = fr.C(l);
            if (ic == wi) theta.Slice(WTheta[l], wo * wi).CopyTo(W);   // no time column: the rows are contiguous in θ
            for (int j = 0; j < wo; j++)
            {
                if (ic > wi) theta.Slice(WTheta[l] + j * ic, wi).CopyTo(W.Slice(j * wi, wi));
                c[j] = theta[BTheta[l] + j];
                if (ic > wi) c[j] += t * theta[WTheta[l] + j * ic + wi];
            }
            if (!squash) continue;
            var s = fr.S(l);
            for (int j = 0; j < wo; j++)
            {
                T sj = Sigmoid(theta[GTheta[l] + j] * t + theta[GbTheta[l] + j]);
                s[j] = sj;
                c[j] = c[j] * sj + theta[HbTheta[l] + j] * t;
            }
        }
    }

    public static void ForwardTrace<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.ForwardTrace<MlpField<TSpec>, T>(t, z, theta, f, trace, batch, workspace);

    public static T Backward<T>(T t, ReadOnlySpan<T> theta, int directions, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotJv,
        Span<T> gradZ, Span<T> gradV, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.Backward<MlpField<TSpec>, T>(t, theta, directions, cotF, cotJv, gradZ, gradV, gradTheta, batch, workspace);

    public static T BackwardTrace<T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace,
        Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TanhNetField.BackwardTrace<MlpField<TSpec>, T>(t, theta, cotF, cotTrace, gradZ, gradTheta, batch, workspace);

    // Backprop keeps the hidden activations of every forward stage for its reverse sweep (TanhNet.KeepTrace).
    static int ICnfField<MlpField<TSpec>>.TraceKeptPerRow => TanhNetField.TraceKeptPerRow<MlpField<TSpec>>();
    static void ICnfField<MlpField<TSpec>>.ForwardTraceKeeping<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace,
        Span<T> kept, int batch, Span<T> workspace)
        => TanhNetField.ForwardTraceKeeping<MlpField<TSpec>, T>(t, z, theta, f, trace, kept, batch, workspace);
    static T ICnfField<MlpField<TSpec>>.BackwardTraceFromKept<T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> z, ReadOnlySpan<T> kept,
        ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace, Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        => TanhNetField.BackwardTraceFromKept<MlpField<TSpec>, T>(t, theta, z, kept, cotF, cotTrace, gradZ, gradTheta, batch, workspace);

    /// <summary>The effective weights' gradients (in the frame) back to θ and t.</summary>
    private static T MapGradients<T>(T t, ReadOnlySpan<T> theta, in TanhNet.Frame<T> fr, Span<T> gradTheta, Span<T> workspace, int batch, int directions)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = Shape.Widths;
        bool squash = TSpec.Time == TimeInput.ConcatSquash;
        T gradT = T.Zero;
        for (int l = 1; l <= Shape.Layers; l++)
        {
            int wo = w[l], wi = w[l - 1], ic = InTheta[l];
            var gW = fr.GradW(l); var gc = fr.GradC(l); var gs = fr.GradS(l); var s = fr.S(l);
            if (ic == wi)
            {
                var all = gradTheta.Slice(WTheta[l], wo * wi);   // contiguous rows: one element-wise add (same sums)
                System.Numerics.Tensors.TensorPrimitives.Add(all, gW.Slice(0, wo * wi), all);
            }
            for (int j = 0; j < wo; j++)
            {
                if (ic > wi)
                {
                    var dst = gradTheta.Slice(WTheta[l] + j * ic, wi);
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, gW.Slice(j * wi, wi), dst);
                }
                T cb = gc[j];
                if (squash)
                {
                    // c = b·s + h·t, s = σ(g·t + g_b)
                    T sj = s[j], b = theta[BTheta[l] + j];
                    gradTheta[BTheta[l] + j] += cb * sj;
                    T pre = (gs[j] + cb * b) * sj * (T.One - sj);
                    gradTheta[GTheta[l] + j] += pre * t;
                    gradTheta[GbTheta[l] + j] += pre;
                    gradTheta[HbTheta[l] + j] += cb * t;
                    gradT += pre * theta[GTheta[l] + j] + cb * theta[HbTheta[l] + j];
                }
                else
                {
                    gradTheta[BTheta[l] + j] += cb;
                    if (ic > wi)
                    {
                        gradTheta[WTheta[l] + j * ic + wi] += cb * t;
                        gradT += cb * theta[WTheta[l] + j * ic + wi];
                    }
                }
            }
        }
        return gradT;
    }

    private static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
}
