using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Div on the device: dz = (dx − z·dy)/y; x̄ += z̄/y, ȳ −= z̄z/y (as Primitives/DivPrimitive.cs).</summary>
    internal sealed class DivDeviceRule : BinaryDeviceRule
    {
        public override OpKind Kind => OpKind.Div;
        protected override string Op => "/";
        protected override string Tangent(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"-{z} * {dy} / {y}" : dy is null ? $"{dx} / {y}" : $"({dx} - {z} * {dy}) / {y}";
        protected override (string Dx, string Dy) Adjoint(string x, string y, string z, string g) => ($"{g} / {y}", $"-{g} * {z} / {y}");
    }
}
