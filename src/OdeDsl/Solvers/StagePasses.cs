using System.Numerics;

namespace OdeDsl;

/// <summary>
/// A lockstep Runge-Kutta step's whole-block vector passes (stage inputs and y_{n+1} as y + Σ cⱼkⱼ, the scaled error,
/// the finiteness check, the copies that start the next step) cut into <see cref="Pieces"/> element ranges on the calling
/// thread and one pool thread (<see cref="TwoThreadLoop"/>). On a large state they ran on the solver's thread alone
/// while the other core waited: the MNIST ODE-Net's adjoint state is 665,000 floats (h, a and a_θ), about 45 passes
/// over it per dopri5 step (docs/performance.md, "MNIST step on two cores"). Every element gets exactly the
/// operations of the one-piece call (StageCombination's passes are element-wise), so the split changes no bit.
/// </summary>
internal sealed class StagePasses<T> : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Blocks below this many elements stay on one thread (a hand-off costs about as much as a pass over 2¹⁵ floats).</summary>
    internal static int MinElements = 1 << 17;

    /// <summary>Pieces per pass: more than two, so that a pool thread that starts late still takes its share.</summary>
    internal const int Pieces = 4;

    private enum Pass { Combine, ScaledError, Finite, CopyStart }

    private readonly TwoThreadLoop _loop = new();
    private readonly int _n;
    private readonly T[] _coef = new T[StageCombination.MaxTerms];
    private readonly bool[] _finite = new bool[Pieces];
    private Pass _pass;
    private int _terms, _slotFrom;
    private T _atol, _rtol;
    private T[] _y = [], _k = [], _yNew = [], _dst = [];

    private StagePasses(int n) => _n = n;

    /// <summary>Passes for a block of <paramref name="n"/> elements, or null where one thread is the better choice.</summary>
    public static StagePasses<T>? For(int n) => n >= MinElements && TwoThreadLoop.Enabled ? new StagePasses<T>(n) : null;

    /// <summary>dst = y + Σⱼ coefⱼ·kⱼ over the whole block (<see cref="StageCombination.Combine{T}"/>).</summary>
    public void Combine(T[] y, T[] k, ReadOnlySpan<T> coef, T[] dst)
    {
        Set(coef); _y = y; _k = k; _dst = dst; _pass = Pass.Combine;
        _loop.Run(this, Pieces);
    }

    /// <summary>dst = (Σⱼ coefⱼ·kⱼ) / (atol + rtol·max(|y|, |yNew|)) over the whole block.</summary>
    public void ScaledError(T[] k, ReadOnlySpan<T> coef, T[] y, T[] yNew, T atol, T rtol, T[] dst)
    {
        Set(coef); _k = k; _y = y; _yNew = yNew; _atol = atol; _rtol = rtol; _dst = dst; _pass = Pass.ScaledError;
        _loop.Run(this, Pieces);
    }

    /// <summary>Whether every element of <paramref name="v"/> is finite.</summary>
    public bool AllFinite(T[] v)
    {
        _y = v; _pass = Pass.Finite;
        _loop.Run(this, Pieces);
        foreach (bool f in _finite) if (!f) return false;
        return true;
    }

    /// <summary>The next step's start: y = yNew and stage slot 0 = slot <paramref name="slotFrom"/> (f at y_{n+1}).</summary>
    public void CopyStart(T[] yNew, T[] y, T[] k, int slotFrom)
    {
        _yNew = yNew; _y = y; _k = k; _slotFrom = slotFrom; _pass = Pass.CopyStart;
        _loop.Run(this, Pieces);
    }

    private void Set(ReadOnlySpan<T> coef)
    {
        if (coef.Length > _coef.Length) throw new ArgumentException($"at most {_coef.Length} stage terms; got {coef.Length}.", nameof(coef));
        coef.CopyTo(_coef);
        _terms = coef.Length;
    }

    public void RunChunk(int chunk, int worker)
    {
        // Piece boundaries on 16-element lines (whole Vector512s of float), the same for every pass of a solve.
        int per = (_n / Pieces + 15) & ~15;
        int lo = Math.Min(chunk * per, _n), hi = chunk == Pieces - 1 ? _n : Math.Min(lo + per, _n), len = hi - lo;
        ReadOnlySpan<T> coef = _coef.AsSpan(0, _terms);
        switch (_pass)
        {
            case Pass.Combine:
                if (len > 0) StageCombination.Combine<T>(_y.AsSpan(lo, len), _k, _n, lo, coef, _dst.AsSpan(lo, len));
                break;
            case Pass.ScaledError:
                if (len > 0) StageCombination.ScaledError<T>(_k, _n, lo, coef, _y.AsSpan(lo, len), _yNew.AsSpan(lo, len), _atol, _rtol, _dst.AsSpan(lo, len));
                break;
            case Pass.Finite:
                _finite[chunk] = StageCombination.AllFinite<T>(_y.AsSpan(lo, len));
                break;
            case Pass.CopyStart:
                _yNew.AsSpan(lo, len).CopyTo(_y.AsSpan(lo, len));
                _k.AsSpan(_slotFrom * _n + lo, len).CopyTo(_k.AsSpan(lo, len));
                break;
        }
    }
}
