using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Pow on the device: y = x^c with constant c, dy/dx = c·x^(c−1) (as Primitives/PowPrimitive.cs).</summary>
    internal sealed class PowDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Pow;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Pow")}({x}, {c.Lit(n.Value)})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({c.Lit(n.Value)} * {c.M("Pow")}({x}, {c.Lit(n.Value - 1)}))";
    }
}
