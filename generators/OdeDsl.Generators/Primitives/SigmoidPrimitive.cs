using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Sigmoid: y = T.One / (T.One + T.Exp(-X)), dy/dx = Y * (T.One - Y).</summary>
    internal sealed class SigmoidPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Sigmoid;
        protected override string? Kernel => "Sigmoid";
        protected override string Forward(string x, Node n) => $"T.One / (T.One + T.Exp(-{x}))";
        protected override string Derivative(string x, string y, Node n) => $"{y} * (T.One - {y})";
    }
}
