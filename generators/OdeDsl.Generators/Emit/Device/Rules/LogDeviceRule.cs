using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Log on the device: y = log x, dy/dx = 1/x (as Primitives/LogPrimitive.cs).</summary>
    internal sealed class LogDeviceRule : UnaryDeviceRule
    {
        public override OpKind Kind => OpKind.Log;
        protected override string F(DeviceContext c, string x, Node n) => $"{c.M("Log")}({x})";
        protected override string Derivative(DeviceContext c, string x, string y, Node n) => $"({c.One} / {x})";
    }
}
