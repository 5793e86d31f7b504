using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Sqrt: y = T.Sqrt(X), dy/dx = (T.CreateTruncating(0.5d) / Y).</summary>
    internal sealed class SqrtPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Sqrt;
        // second order (Ir/DivergenceGraph): F'(x) = 1/(2y) as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Div, g.Const(0.5), y);
        protected override string Forward(string x, Node n) => $"T.Sqrt({x})";
        protected override string Derivative(string x, string y, Node n) => $"(T.CreateTruncating(0.5d) / {y})";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Sqrt<T>({x}, {y});";
    }
}
