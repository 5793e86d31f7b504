using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Outer(x, y)[i, j] = xᵢyⱼ: dz = dxᵢyⱼ + xᵢdyⱼ; x̄ᵢ += Σⱼ z̄ᵢⱼyⱼ, ȳⱼ += Σᵢ z̄ᵢⱼxᵢ (as Primitives/OuterPrimitive.cs).</summary>
    internal sealed class OuterDeviceRule : DeviceRule
    {
        public override OpKind Kind => OpKind.Outer;

        private static void Loop(DeviceContext c, Node n, params string[] body)
        {
            c.Open($"for (int i = 0; i < {n.Shape[0]}; i++)");
            c.Open($"for (int j = 0; j < {n.Shape[1]}; j++)");
            foreach (var l in body) c.Line(l);
            c.Close();
            c.Close();
        }

        private static string Z(Node n) => $"i * {n.Shape[1]} + j";

        public override void Forward(DeviceContext c, Node n) =>
            Loop(c, n, $"{c.Val(n.Id, Z(n))} = {c.Val(n.Arg(0), "i")} * {c.Val(n.Arg(1), "j")};");

        public override void Jvp(DeviceContext c, Node n)
        {
            string? dx = c.Tan(n.Arg(0), "i"), dy = c.Tan(n.Arg(1), "j");
            string x = c.Val(n.Arg(0), "i"), y = c.Val(n.Arg(1), "j");
            Loop(c, n, $"{c.Tan(n.Id, Z(n))} = {(dx is null ? $"{x} * {dy}" : dy is null ? $"{dx} * {y}" : $"{dx} * {y} + {x} * {dy}")};");
        }

        public override void Vjp(DeviceContext c, Node n)
        {
            string? ax = c.Adj(n.Arg(0), "i"), ay = c.Adj(n.Arg(1), "j");
            if (ax is null && ay is null) return;
            var lines = new System.Collections.Generic.List<string> { $"{c.T} g = {c.Adj(n.Id, Z(n))};" };
            if (ax is not null) lines.Add($"{ax} += g * {c.Val(n.Arg(1), "j")};");
            if (ay is not null) lines.Add($"{ay} += g * {c.Val(n.Arg(0), "i")};");
            Loop(c, n, lines.ToArray());
        }
    }
}
