using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Elu on the device: y = x or eˣ − 1, dy/dx = 1 or y + 1 (as Primitives/EluPrimitive.cs).</summary>
    internal sealed class EluDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Elu;
        protected override string F(DeviceContext c, string x, Node n) => $"({x} > {c.Zero} ? {x} : {c.M("Exp")}({x}) - {c.One})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({x} > {c.Zero} ? {c.One} : {y} + {c.One})";
    }
}
