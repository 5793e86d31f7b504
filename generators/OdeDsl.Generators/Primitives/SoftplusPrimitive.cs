using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Softplus: y = (T.Max(X, T.Zero) + T.Log(T.One + T.Exp(-T.Abs(X)))), dy/dx = (T.One / (T.One + T.Exp(-X))).</summary>
    internal sealed class SoftplusPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Softplus;
        // second order (Ir/DivergenceGraph): F'(x) = σ(x) as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Sigmoid, x);
        protected override string Forward(string x, Node n) => $"(T.Max({x}, T.Zero) + T.Log(T.One + T.Exp(-T.Abs({x}))))";
        protected override string Derivative(string x, string y, Node n) => $"(T.One / (T.One + T.Exp(-{x})))";
    }
}
