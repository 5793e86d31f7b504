using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Sin: y = T.Sin(X), dy/dx = T.Cos(X).</summary>
    internal sealed class SinPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Sin;
        // second order (Ir/DivergenceGraph): F'(x) = cos x as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Cos, x);
        protected override string Forward(string x, Node n) => $"T.Sin({x})";
        protected override string Derivative(string x, string y, Node n) => $"T.Cos({x})";
    }
}
