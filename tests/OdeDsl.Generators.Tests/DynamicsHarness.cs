using System.Numerics;
using OdeDsl.Training;

namespace OdeDsl.Generators.Tests;

/// <summary>Random inputs and small linear-algebra helpers for the differential tests of a generated system.</summary>
internal static class DynamicsHarness<TD> where TD : IOdeDynamics<TD>
{
    public static T[] Random<T>(Rng rng, int n, double scale = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = new T[n];
        for (int i = 0; i < n; i++) x[i] = T.CreateChecked(scale * (2 * rng.NextDouble() - 1));
        return x;
    }

    public static double Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += double.CreateChecked(a[i]) * double.CreateChecked(b[i]);
        return s;
    }

    public static T[] Evaluate<T>(T[] t, T[] h, T[] theta, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dh = new T[batch * TD.StateSize];
        TD.Evaluate<T>(t, h, theta, dh, batch, new T[TD.WorkspaceLength(batch)]);
        return dh;
    }

    public static T[] Axpy<T>(T[] x, double alpha, T[] v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = (T[])x.Clone();
        for (int i = 0; i < y.Length; i++) y[i] += T.CreateChecked(alpha) * v[i];
        return y;
    }
}
