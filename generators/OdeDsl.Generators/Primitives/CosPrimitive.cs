using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Cos: y = T.Cos(X), dy/dx = (-T.Sin(X)).</summary>
    internal sealed class CosPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Cos;
        // second order (Ir/DivergenceGraph): F'(x) = −sin x as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Neg, g.Op(OpKind.Sin, x));
        protected override string Forward(string x, Node n) => $"T.Cos({x})";
        protected override string Derivative(string x, string y, Node n) => $"(-T.Sin({x}))";
    }
}
