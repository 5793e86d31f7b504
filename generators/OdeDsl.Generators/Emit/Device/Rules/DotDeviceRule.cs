using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Dot(x, y) = Σ xᵢyᵢ: dz = Σ (dxᵢyᵢ + xᵢdyᵢ); x̄ᵢ += z̄yᵢ, ȳᵢ += z̄xᵢ (as Primitives/DotPrimitive.cs).</summary>
    internal sealed class DotDeviceRule : DeviceRule
    {
        public override OpKind Kind => OpKind.Dot;

        private static void Reduce(DeviceContext c, Node n, string target, string term)
        {
            c.Open("");
            c.Line($"{c.T} s = {c.Zero};");
            c.Line($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++) s += {term};");
            c.Line($"{target} = s;");
            c.Close();
        }

        public override void Forward(DeviceContext c, Node n) =>
            Reduce(c, n, c.Val(n.Id, "0"), $"{c.Val(n.Arg(0), "i")} * {c.Val(n.Arg(1), "i")}");

        public override void Jvp(DeviceContext c, Node n)
        {
            string x = c.Val(n.Arg(0), "i"), y = c.Val(n.Arg(1), "i");
            string? dx = c.Tan(n.Arg(0), "i"), dy = c.Tan(n.Arg(1), "i");
            Reduce(c, n, c.Tan(n.Id, "0")!, dx is null ? $"{x} * {dy}" : dy is null ? $"{dx} * {y}" : $"{dx} * {y} + {x} * {dy}");
        }

        public override void Vjp(DeviceContext c, Node n)
        {
            string? ax = c.Adj(n.Arg(0), "i"), ay = c.Adj(n.Arg(1), "i");
            if (ax is null && ay is null) return;
            c.Open("");
            c.Line($"{c.T} g = {c.Adj(n.Id, "0")};");
            c.Open($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++)");
            if (ax is not null) c.Line($"{ax} += g * {c.Val(n.Arg(1), "i")};");
            if (ay is not null) c.Line($"{ay} += g * {c.Val(n.Arg(0), "i")};");
            c.Close();
            c.Close();
        }
    }
}
