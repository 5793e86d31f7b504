using System.Numerics;
using OdeDsl;
using OdeDsl.Plotting;

namespace Spiral;

/// <summary>ode_demo's visualize(): trajectories over time, phase portrait, learned vector field, as one SVG.</summary>
public static class SpiralFigures
{
    public static void Write<T>(string path, SpiralProblem problem, T[] prediction, T[] theta, long iteration)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = problem.Times.Length;
        double[] tx = new double[n], ty = new double[n], px = new double[n], py = new double[n];
        for (int i = 0; i < n; i++)
        {
            tx[i] = problem.TrueY[2 * i]; ty[i] = problem.TrueY[2 * i + 1];
            px[i] = double.CreateChecked(prediction[2 * i]); py[i] = double.CreateChecked(prediction[2 * i + 1]);
        }
        var trajectories = new SvgPlot($"Trajectories (iteration {iteration})", "t", "x, y", 480)
            .Line("true x", problem.Times, tx, "#2ca02c").Line("true y", problem.Times, ty, "#1f77b4")
            .Line("learned x", problem.Times, px, "#2ca02c", dashed: true).Line("learned y", problem.Times, py, "#1f77b4", dashed: true)
            .YRange(-2.2, 2.2);
        var phase = new SvgPlot("Phase portrait", "x", "y", 380)
            .Line("true", tx, ty, "#2ca02c").Line("learned", px, py, "#1f77b4", dashed: true)
            .XRange(-2.2, 2.2).YRange(-2.2, 2.2);
        SvgFigure.Save(path, trajectories, phase, VectorField(theta));
    }

    /// <summary>The learned field on a 21 × 21 grid over [-2, 2]², each arrow normalised to unit length (as ode_demo draws it).</summary>
    private static SvgPlot VectorField<T>(T[] theta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int side = 21, count = side * side;
        var h = new T[2 * count];
        var dh = new T[2 * count];
        var t = new T[count];
        for (int r = 0; r < side; r++)
            for (int c = 0; c < side; c++)
            {
                int k = r * side + c;
                h[2 * k] = T.CreateChecked(-2.0 + 4.0 * c / (side - 1));
                h[2 * k + 1] = T.CreateChecked(-2.0 + 4.0 * r / (side - 1));
            }
        SpiralField.Dynamics.Evaluate<T>(t, h, theta, dh, count, new T[SpiralField.Dynamics.WorkspaceLength(count)]);
        double[] x = new double[count], y = new double[count], u = new double[count], v = new double[count];
        for (int k = 0; k < count; k++)
        {
            x[k] = double.CreateChecked(h[2 * k]); y[k] = double.CreateChecked(h[2 * k + 1]);
            double du = double.CreateChecked(dh[2 * k]), dv = double.CreateChecked(dh[2 * k + 1]);
            double len = Math.Sqrt(du * du + dv * dv);
            (u[k], v[k]) = len > 0 ? (du / len, dv / len) : (0, 0);
        }
        return new SvgPlot("Learned vector field", "x", "y", 380).Quiver("", x, y, u, v, "#333").XRange(-2.2, 2.2).YRange(-2.2, 2.2);
    }
}
