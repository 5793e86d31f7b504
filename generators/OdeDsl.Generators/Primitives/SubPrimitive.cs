using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>x − y: dz = dx − dy; x̄ += z̄, ȳ −= z̄.</summary>
    internal sealed class SubPrimitive : BinaryElementwise
    {
        public override OpKind Kind => OpKind.Sub;
        protected override string Op => "-";
        protected override string Jvp(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"-{dy}" : dy is null ? dx : $"{dx} - {dy}";
        protected override (string Dx, string Dy) Vjp(string x, string y, string z, string g) => (g, $"-{g}");
    }
}
