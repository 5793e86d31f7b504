using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Exp: y = T.Exp(X), dy/dx = Y.</summary>
    internal sealed class ExpPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Exp;
        // second order (Ir/DivergenceGraph): F'(x) = y as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => y;
        public override string? BiasKernel => "Exp";
        protected override string Forward(string x, Node n) => $"T.Exp({x})";
        protected override string Derivative(string x, string y, Node n) => $"{y}";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Exp<T>({x}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Elementwise.Multiply<T>({y}, {dx}, {dy});";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Elementwise.MultiplyAddTo<T>({g}, {y}, {ax});";
    }
}
