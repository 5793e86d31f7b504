using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Tanh: y = T.Tanh(X), dy/dx = (T.One - Y * Y).</summary>
    internal sealed class TanhPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Tanh;
        protected override string? Kernel => "Tanh";
        protected override string Forward(string x, Node n) => $"T.Tanh({x})";
        protected override string Derivative(string x, string y, Node n) => $"(T.One - {y} * {y})";
    }
}
