using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Log: y = T.Log(X), dy/dx = (T.One / X).</summary>
    internal sealed class LogPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Log;
        protected override string Forward(string x, Node n) => $"T.Log({x})";
        protected override string Derivative(string x, string y, Node n) => $"(T.One / {x})";
    }
}
