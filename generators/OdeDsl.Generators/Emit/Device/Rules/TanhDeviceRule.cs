using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Tanh on the device: y = tanh x, dy/dx = 1 − y² (as Primitives/TanhPrimitive.cs).</summary>
    internal sealed class TanhDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Tanh;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Tanh")}({x})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({c.One} - {y} * {y})";
    }
}
