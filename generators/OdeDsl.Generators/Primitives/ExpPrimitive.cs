using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Exp: y = T.Exp(X), dy/dx = Y.</summary>
    internal sealed class ExpPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Exp;
        protected override string Forward(string x, Node n) => $"T.Exp({x})";
        protected override string Derivative(string x, string y, Node n) => $"{y}";
    }
}
