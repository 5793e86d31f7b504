using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Tanh: y = T.Tanh(X), dy/dx = (T.One - Y * Y).</summary>
    internal sealed class TanhPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Tanh;
        // second order (Ir/DivergenceGraph): F'(x) = 1 − y² as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Sub, g.Const(1), g.Op(OpKind.Square, y));
        public override string? BiasKernel => "Tanh";
        protected override string Forward(string x, Node n) => $"T.Tanh({x})";
        protected override string Derivative(string x, string y, Node n) => $"(T.One - {y} * {y})";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Activations.Tanh<T>({x}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Activations.TanhBackward<T>({y}, {dx}, {dy});";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Activations.TanhBackwardAdd<T>({y}, {g}, {ax});";
    }
}
