using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Mean(x) = Sum(x) / n: <see cref="SumDeviceRule"/> scaled by 1/n.</summary>
    internal sealed class MeanDeviceRule : SumDeviceRule
    {
        public override OpKind Kind => OpKind.Mean;
        protected override string Scale(DeviceContext c, Node n) => $" / {c.Lit(n.Value)}";
    }
}
