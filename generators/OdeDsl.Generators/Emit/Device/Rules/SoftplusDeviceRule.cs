using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Softplus on the device: y = max(x, 0) + log(1 + e^−|x|), dy/dx = σ(x) (as Primitives/SoftplusPrimitive.cs).</summary>
    internal sealed class SoftplusDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Softplus;
        protected override string F(DeviceContext c, string x, Node n) => $"({c.M("Max")}({x}, {c.Zero}) + {c.M("Log")}({c.One} + {c.M("Exp")}(-{c.M("Abs")}({x}))))";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({c.One} / ({c.One} + {c.M("Exp")}(-{x})))";
    }
}
