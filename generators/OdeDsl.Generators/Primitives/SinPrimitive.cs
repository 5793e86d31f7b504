using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Sin: y = T.Sin(X), dy/dx = T.Cos(X).</summary>
    internal sealed class SinPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Sin;
        protected override string Forward(string x, Node n) => $"T.Sin({x})";
        protected override string Derivative(string x, string y, Node n) => $"T.Cos({x})";
    }
}
