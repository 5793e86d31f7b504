using OdeDsl.Training;

namespace OdeDsl.Flows;

/// <summary>
/// The eight 2-D toy data sets of FFJORD's train_toy.py (Grathwohl et al. 2019, ffjord/lib/toy_data.py), with the
/// same shapes and scales, drawn from <see cref="Rng"/>; the scikit-learn generators they call (make_moons,
/// make_circles, make_swiss_roll) are re-implemented from their documented definitions.
/// </summary>
public static class ToyDatasets
{
    public static IReadOnlyList<string> Names { get; } = ["8gaussians", "pinwheel", "2spirals", "checkerboard", "rings", "moons", "circles", "swissroll"];

    /// <summary>n points, [n, 2] row-major.</summary>
    public static double[] Sample(string name, int n, ref Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var x = new double[2 * n];
        switch (name)
        {
            case "8gaussians":
            {
                double s = 1 / Math.Sqrt(2);
                (double, double)[] centers = [(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)];
                for (int i = 0; i < n; i++)
                {
                    var (cx, cy) = centers[rng.NextInt(8)];
                    x[2 * i] = (rng.NextGaussian() * 0.5 + 4 * cx) / 1.414;
                    x[2 * i + 1] = (rng.NextGaussian() * 0.5 + 4 * cy) / 1.414;
                }
                break;
            }
            case "pinwheel":
            {
                const double radialStd = 0.3, tangentialStd = 0.1, rate = 0.25;
                const int classes = 5;
                for (int i = 0; i < n; i++)
                {
                    int label = i * classes / n;
                    double f0 = rng.NextGaussian() * radialStd + 1, f1 = rng.NextGaussian() * tangentialStd;
                    double angle = 2 * Math.PI * label / classes + rate * Math.Exp(f0);
                    double c = Math.Cos(angle), s = Math.Sin(angle);
                    x[2 * i] = 2 * (f0 * c - f1 * s);
                    x[2 * i + 1] = 2 * (f0 * s + f1 * c);
                }
                break;
            }
            case "2spirals":
                for (int i = 0; i < n; i++)
                {
                    double r = Math.Sqrt(rng.NextDouble()) * 540 * (2 * Math.PI / 360);
                    double dx = -Math.Cos(r) * r + rng.NextDouble() * 0.5, dy = Math.Sin(r) * r + rng.NextDouble() * 0.5;
                    double sign = i < n / 2 ? 1 : -1;
                    x[2 * i] = sign * dx / 3 + rng.NextGaussian() * 0.1;
                    x[2 * i + 1] = sign * dy / 3 + rng.NextGaussian() * 0.1;
                }
                break;
            case "checkerboard":
                for (int i = 0; i < n; i++)
                {
                    double x1 = rng.NextDouble() * 4 - 2;
                    double x2 = rng.NextDouble() - rng.NextInt(2) * 2 + Mod(Math.Floor(x1), 2);
                    x[2 * i] = x1 * 2;
                    x[2 * i + 1] = x2 * 2;
                }
                break;
            case "rings":
            {
                double[] radii = [1.0, 0.8, 0.55, 0.25];
                for (int i = 0; i < n; i++)
                {
                    int ring = i * 4 / n;
                    double a = 2 * Math.PI * rng.NextDouble();
                    x[2 * i] = radii[ring] * Math.Cos(a) * 3 + rng.NextGaussian() * 0.08;
                    x[2 * i + 1] = radii[ring] * Math.Sin(a) * 3 + rng.NextGaussian() * 0.08;
                }
                break;
            }
            case "moons":
                // make_moons(noise=0.1) · 2 + (−1, −0.2): outer half circle and the inner one shifted by (1, −0.5)
                for (int i = 0; i < n; i++)
                {
                    double a = Math.PI * rng.NextDouble();
                    bool outer = i < (n + 1) / 2;
                    double px = outer ? Math.Cos(a) : 1 - Math.Cos(a), py = outer ? Math.Sin(a) : 0.5 - Math.Sin(a);
                    x[2 * i] = (px + rng.NextGaussian() * 0.1) * 2 - 1;
                    x[2 * i + 1] = (py + rng.NextGaussian() * 0.1) * 2 - 0.2;
                }
                break;
            case "circles":
                // make_circles(factor=0.5, noise=0.08) · 3
                for (int i = 0; i < n; i++)
                {
                    double a = 2 * Math.PI * rng.NextDouble(), r = i < (n + 1) / 2 ? 1 : 0.5;
                    x[2 * i] = (r * Math.Cos(a) + rng.NextGaussian() * 0.08) * 3;
                    x[2 * i + 1] = (r * Math.Sin(a) + rng.NextGaussian() * 0.08) * 3;
                }
                break;
            case "swissroll":
                // make_swiss_roll(noise=1.0)[:, [0, 2]] / 5
                for (int i = 0; i < n; i++)
                {
                    double u = 1.5 * Math.PI * (1 + 2 * rng.NextDouble());
                    x[2 * i] = (u * Math.Cos(u) + rng.NextGaussian()) / 5;
                    x[2 * i + 1] = (u * Math.Sin(u) + rng.NextGaussian()) / 5;
                }
                break;
            default:
                throw new ArgumentException($"Unknown toy data set '{name}'; choose one of {string.Join(", ", Names)}.", nameof(name));
        }
        return x;
    }

    private static double Mod(double a, double m) => a - m * Math.Floor(a / m);
}
