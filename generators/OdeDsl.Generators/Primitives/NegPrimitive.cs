using System.Linq;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Neg: y = -X, dy/dx = (-T.One).</summary>
    internal sealed class NegPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Neg;

        // second order (Ir/DivergenceGraph): linear: d(−x) = −dx
        public override int? Tangent(TangentBuilder g, Node n, int[] d) => g.Apply(n, d[0]);
        protected override string Forward(string x, Node n) => $"-{x}";
        protected override string Derivative(string x, string y, Node n) => $"(-T.One)";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Elementwise.Negate<T>({x}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Elementwise.Negate<T>({dx}, {dy});";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Elementwise.SubtractFrom<T>({g}, {ax});";
    }
}
