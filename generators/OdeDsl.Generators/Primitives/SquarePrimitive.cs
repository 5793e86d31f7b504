using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Square: y = X * X, dy/dx = (X + X).</summary>
    internal sealed class SquarePrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Square;
        protected override string Forward(string x, Node n) => $"{x} * {x}";
        protected override string Derivative(string x, string y, Node n) => $"({x} + {x})";
    }
}
