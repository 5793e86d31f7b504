using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Pow(x, c) with a constant exponent c (Node.Value): y = x^c, dy/dx = c·x^(c−1).</summary>
    internal sealed class PowPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Pow;
        // second order (Ir/DivergenceGraph): F'(x) = c·x^(c−1) as nodes
        protected override int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => g.Op(OpKind.Mul, g.Const(n.Value), n.Value == 2 ? x : g.Op(OpKind.Pow, new[] { x }, n.Value - 1, new int[0]));
        protected override string Forward(string x, Node n) => $"T.Pow({x}, {EmitContext.Literal(n.Value)})";
        protected override string Derivative(string x, string y, Node n) =>
            $"({EmitContext.Literal(n.Value)} * T.Pow({x}, {EmitContext.Literal(n.Value - 1)}))";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Pow<T>({x}, {EmitContext.Literal(n.Value)}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Elementwise.PowBackward<T>({x}, {EmitContext.Literal(n.Value)}, {dx}, {dy}, false);";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Elementwise.PowBackward<T>({x}, {EmitContext.Literal(n.Value)}, {g}, {ax}, true);";
    }
}
