using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Sigmoid: y = T.One / (T.One + T.Exp(-X)), dy/dx = Y * (T.One - Y).</summary>
    internal sealed class SigmoidPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Sigmoid;
        // second order (Ir/DivergenceGraph): F'(x) = y(1 − y) as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Mul, y, g.Op(OpKind.Sub, g.Const(1), y));
        public override string? BiasKernel => "Sigmoid";
        protected override string Forward(string x, Node n) => $"T.One / (T.One + T.Exp(-{x}))";
        protected override string Derivative(string x, string y, Node n) => $"{y} * (T.One - {y})";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Activations.Sigmoid<T>({x}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Activations.SigmoidBackward<T>({y}, {dx}, {dy});";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Activations.SigmoidBackwardAdd<T>({y}, {g}, {ax});";
    }
}
