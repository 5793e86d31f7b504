using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Sqrt: y = T.Sqrt(X), dy/dx = (T.CreateTruncating(0.5d) / Y).</summary>
    internal sealed class SqrtPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Sqrt;
        protected override string Forward(string x, Node n) => $"T.Sqrt({x})";
        protected override string Derivative(string x, string y, Node n) => $"(T.CreateTruncating(0.5d) / {y})";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Sqrt<T>({x}, {y});";
    }
}
