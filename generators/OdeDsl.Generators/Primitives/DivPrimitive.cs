using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// x / y: dz = (dx − z·dy) / y; x̄ += z̄ / y, ȳ −= z̄·z / y. The forward pass has kernels for blocks and broadcast
    /// scalars; the JVP has one for a block divided by a divisor that does not depend on h; the VJP stays in the scalar loop.
    /// </summary>
    internal sealed class DivPrimitive : BinaryElementwise
    {
        public override OpKind Kind => OpKind.Div;

        // second order (Ir/DivergenceGraph): (dx − z·dy)/y
        public override int? Tangent(TangentBuilder g, Node n, int[] d) =>
            g.Fit(g.Op(OpKind.Div, g.Diff(d[0], g.Times(n.Id, d[1])), n.Arg(1)), n);
        protected override string Op => "/";
        protected override string Jvp(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"-{z} * {dy} / {y}" : dy is null ? $"{dx} / {y}" : $"({dx} - {z} * {dy}) / {y}";
        protected override (string Dx, string Dy) Vjp(string x, string y, string z, string g) => ($"{g} / {y}", $"-{g} * {z} / {y}");

        protected override string[]? ForwardKernel(Operand x, Operand y, string z, Node n) =>
            x.Kind == OperandKind.Row || y.Kind == OperandKind.Row ? null : new[] { $"{Kernels}Divide<T>({x.Value}, {y.Value}, {z});" };

        protected override string[]? JvpKernel(Operand x, Operand y, string z, string? dx, string? dy, string dz, Node n) =>
            dy is null && dx is not null && y.Kind != OperandKind.Row ? new[] { $"{Kernels}Divide<T>({dx}, {y.Value}, {dz});" } : null;

        protected override string[]? VjpKernel(Operand x, Operand y, string z, string g, Node n) => null;
    }
}
