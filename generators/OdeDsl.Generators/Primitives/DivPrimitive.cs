using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>x / y: dz = (dx − z·dy) / y; x̄ += z̄ / y, ȳ −= z̄·z / y.</summary>
    internal sealed class DivPrimitive : BinaryElementwise
    {
        public override OpKind Kind => OpKind.Div;
        protected override string Op => "/";
        protected override string Jvp(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"-{z} * {dy} / {y}" : dy is null ? $"{dx} / {y}" : $"({dx} - {z} * {dy}) / {y}";
        protected override (string Dx, string Dy) Vjp(string x, string y, string z, string g) => ($"{g} / {y}", $"-{g} * {z} / {y}");
    }
}
