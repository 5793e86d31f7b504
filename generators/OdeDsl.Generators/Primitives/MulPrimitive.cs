using System.Linq;
using System.Collections.Generic;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// x ∘ y: dz = dx·y + x·dy; x̄ += z̄·y, ȳ += z̄·x. Kernels for blocks and broadcast scalars (a θ row vector stays
    /// scalar); a scalar's gradient is Σ z̄·(the other operand).
    /// </summary>
    internal sealed class MulPrimitive : BinaryElementwise
    {
        public override OpKind Kind => OpKind.Mul;

        // second order (Ir/DivergenceGraph): dx·y + x·dy (each term has the output's shape: Mul broadcasts)
        public override int? Tangent(TangentBuilder g, Node n, int[] d) =>
            g.Sum(g.Times(n.Arg(1), d[0]), g.Times(n.Arg(0), d[1]));
        protected override string Op => "*";
        protected override string Jvp(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"{x} * {dy}" : dy is null ? $"{dx} * {y}" : $"{dx} * {y} + {x} * {dy}";
        protected override (string Dx, string Dy) Vjp(string x, string y, string z, string g) => ($"{g} * {y}", $"{g} * {x}");

        private static bool Rows(Operand x, Operand y) => x.Kind == OperandKind.Row || y.Kind == OperandKind.Row;

        protected override string[]? ForwardKernel(Operand x, Operand y, string z, Node n) =>
            Rows(x, y) ? null : new[] { $"{Kernels}Multiply<T>({x.Value}, {y.Value}, {z});" };

        protected override string[]? JvpKernel(Operand x, Operand y, string z, string? dx, string? dy, string dz, Node n)
        {
            if (Rows(x, y)) return null;
            if (dx is not null && dy is not null)
                return new[] { $"{Kernels}Multiply<T>({dx}, {y.Value}, {dz});", $"{Kernels}MultiplyAddTo<T>({x.Value}, {dy}, {dz});" };
            return new[] { dx is not null ? $"{Kernels}Multiply<T>({dx}, {y.Value}, {dz});" : $"{Kernels}Multiply<T>({x.Value}, {dy}, {dz});" };
        }

        protected override string[]? VjpKernel(Operand x, Operand y, string z, string g, Node n)
        {
            if (Rows(x, y)) return null;
            var lines = new List<string>();
            foreach (var (self, other) in new[] { (x, y), (y, x) })
            {
                if (self.Adjoint is null) continue;
                if (self.Kind == OperandKind.Block) lines.Add($"{Kernels}MultiplyAddTo<T>({g}, {other.Value}, {self.Adjoint});");
                else if (other.Kind == OperandKind.Block) lines.Add($"{self.Adjoint} += {Kernels}Dot<T>({g}, {other.Value});");
                else lines.Add($"{self.Adjoint} += {Kernels}Sum<T>({g}) * {other.Value};");
            }
            return lines.ToArray();
        }
    }
}
