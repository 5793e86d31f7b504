using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Sqrt on the device: y = √x, dy/dx = 0.5/y (as Primitives/SqrtPrimitive.cs).</summary>
    internal sealed class SqrtDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Sqrt;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Sqrt")}({x})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({c.Lit(0.5)} / {y})";
    }
}
