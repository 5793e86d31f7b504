using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Neg: y = -X, dy/dx = (-T.One).</summary>
    internal sealed class NegPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Neg;
        protected override string Forward(string x, Node n) => $"-{x}";
        protected override string Derivative(string x, string y, Node n) => $"(-T.One)";
    }
}
