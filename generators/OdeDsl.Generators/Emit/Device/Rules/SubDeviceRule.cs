using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Sub on the device: dz = dx − dy; x̄ += z̄, ȳ −= z̄ (as Primitives/SubPrimitive.cs).</summary>
    internal sealed class SubDeviceRule : BinaryDeviceRule
    {
        public override OpKind Kind => OpKind.Sub;
        protected override string Op => "-";
        protected override string Tangent(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"-{dy}" : dy is null ? dx : $"{dx} - {dy}";
        protected override (string Dx, string Dy) Adjoint(string x, string y, string z, string g) => (g, $"-{g}");
    }
}
