using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Abs on the device: y = |x|, dy/dx = sign x (+1 at ±0: CopySign differs only at −0) (as Primitives/AbsPrimitive.cs).</summary>
    internal sealed class AbsDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Abs;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Abs")}({x})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({x} < {c.Zero} ? -{c.One} : {c.One})";
    }
}
