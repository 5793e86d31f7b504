using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Mul on the device: dz = dx·y + x·dy; x̄ += z̄y, ȳ += z̄x (as Primitives/MulPrimitive.cs).</summary>
    internal sealed class MulDeviceRule : BinaryDeviceRule
    {
        public override OpKind Kind => OpKind.Mul;
        protected override string Op => "*";
        protected override string Tangent(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"{x} * {dy}" : dy is null ? $"{dx} * {y}" : $"{dx} * {y} + {x} * {dy}";
        protected override (string Dx, string Dy) Adjoint(string x, string y, string z, string g) => ($"{g} * {y}", $"{g} * {x}");
    }
}
