using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Sin on the device: y = sin x, dy/dx = cos x (as Primitives/SinPrimitive.cs).</summary>
    internal sealed class SinDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Sin;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Sin")}({x})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"{c.M("Cos")}({x})";
    }
}
