using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Abs: y = T.Abs(X), dy/dx = T.CopySign(T.One, X).</summary>
    internal sealed class AbsPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Abs;
        protected override string Forward(string x, Node n) => $"T.Abs({x})";
        protected override string Derivative(string x, string y, Node n) => $"T.CopySign(T.One, {x})";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Abs<T>({x}, {y});";
    }
}
