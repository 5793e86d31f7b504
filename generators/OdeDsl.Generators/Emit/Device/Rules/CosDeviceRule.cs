using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Cos on the device: y = cos x, dy/dx = −sin x (as Primitives/CosPrimitive.cs).</summary>
    internal sealed class CosDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Cos;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Cos")}({x})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"(-{c.M("Sin")}({x}))";
    }
}
