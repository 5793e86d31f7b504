using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Sigmoid on the device: y = 1/(1 + e^−x), dy/dx = y(1 − y) (as Primitives/SigmoidPrimitive.cs).</summary>
    internal sealed class SigmoidDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Sigmoid;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.One} / ({c.One} + {c.M("Exp")}(-{x}))";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"{y} * ({c.One} - {y})";
    }
}
