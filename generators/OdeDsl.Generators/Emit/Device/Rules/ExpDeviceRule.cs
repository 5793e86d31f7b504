using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Exp on the device: y = eˣ, dy/dx = y (as Primitives/ExpPrimitive.cs).</summary>
    internal sealed class ExpDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Exp;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Exp")}({x})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"{y}";
    }
}
