using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Log: y = T.Log(X), dy/dx = (T.One / X).</summary>
    internal sealed class LogPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Log;
        // second order (Ir/DivergenceGraph): F'(x) = 1/x as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Div, g.Const(1), x);
        protected override string Forward(string x, Node n) => $"T.Log({x})";
        protected override string Derivative(string x, string y, Node n) => $"(T.One / {x})";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Log<T>({x}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Elementwise.Divide<T>({dx}, {x}, {dy});";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Elementwise.DivideAddTo<T>({g}, {x}, {ax});";
    }
}
