using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Square: y = X * X, dy/dx = (X + X).</summary>
    internal sealed class SquarePrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Square;
        // second order (Ir/DivergenceGraph): F'(x) = 2x as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Mul, g.Const(2), x);
        protected override string Forward(string x, Node n) => $"{x} * {x}";
        protected override string Derivative(string x, string y, Node n) => $"({x} + {x})";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Square<T>({x}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Elementwise.PowBackward<T>({x}, T.CreateTruncating(2d), {dx}, {dy}, false);";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Elementwise.PowBackward<T>({x}, T.CreateTruncating(2d), {g}, {ax}, true);";
    }
}
