using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Elu: y = (X > T.Zero ? X : T.Exp(X) - T.One), dy/dx = (X > T.Zero ? T.One : Y + T.One).</summary>
    internal sealed class EluPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Elu;
        protected override string Forward(string x, Node n) => $"({x} > T.Zero ? {x} : T.Exp({x}) - T.One)";
        protected override string Derivative(string x, string y, Node n) => $"({x} > T.Zero ? T.One : {y} + T.One)";
    }
}
