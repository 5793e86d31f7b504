using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Square on the device: y = x², dy/dx = 2x (as Primitives/SquarePrimitive.cs).</summary>
    internal sealed class SquareDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Square;
        protected override string F(DeviceContext c, string x, Node n) => $"{x} * {x}";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({x} + {x})";
    }
}
