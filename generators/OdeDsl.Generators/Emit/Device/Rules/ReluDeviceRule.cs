using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Relu on the device: y = max(x, 0), dy/dx = [x > 0] (as Primitives/ReluPrimitive.cs).</summary>
    internal sealed class ReluDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Relu;
        protected override string F(DeviceContext c, string x, Node n) => $"({x} > {c.Zero} ? {x} : {c.Zero})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({x} > {c.Zero} ? {c.One} : {c.Zero})";
    }
}
