using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Neg on the device: y = −x, dy/dx = −1 (as Primitives/NegPrimitive.cs).</summary>
    internal sealed class NegDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Neg;
        protected override string F(DeviceContext c, string x, Node n) => $"-{x}";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"(-{c.One})";
    }
}
