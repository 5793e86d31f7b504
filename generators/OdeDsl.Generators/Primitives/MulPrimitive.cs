using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>x ∘ y: dz = dx·y + x·dy; x̄ += z̄·y, ȳ += z̄·x.</summary>
    internal sealed class MulPrimitive : BinaryElementwise
    {
        public override OpKind Kind => OpKind.Mul;
        protected override string Op => "*";
        protected override string Jvp(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"{x} * {dy}" : dy is null ? $"{dx} * {y}" : $"{dx} * {y} + {x} * {dy}";
        protected override (string Dx, string Dy) Vjp(string x, string y, string z, string g) => ($"{g} * {y}", $"{g} * {x}");
    }
}
