using System.Linq;
using System.Collections.Generic;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>x − y: dz = dx − dy; x̄ += z̄, ȳ −= z̄. Kernels for blocks and broadcast scalars (a θ row vector stays scalar).</summary>
    internal sealed class SubPrimitive : BinaryElementwise
    {
        public override OpKind Kind => OpKind.Sub;

        // second order (Ir/DivergenceGraph): dx − dy, a broadcast scalar tangent spread over the output
        public override int? Tangent(TangentBuilder g, Node n, int[] d) => g.Fit(g.Diff(d[0], d[1]), n);
        protected override string Op => "-";
        protected override string Jvp(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? $"-{dy}" : dy is null ? dx : $"{dx} - {dy}";
        protected override (string Dx, string Dy) Vjp(string x, string y, string z, string g) => (g, $"-{g}");

        private static bool Rows(Operand x, Operand y) => x.Kind == OperandKind.Row || y.Kind == OperandKind.Row;

        protected override string[]? ForwardKernel(Operand x, Operand y, string z, Node n) =>
            Rows(x, y) ? null : new[] { $"{Kernels}Subtract<T>({x.Value}, {y.Value}, {z});" };

        protected override string[]? JvpKernel(Operand x, Operand y, string z, string? dx, string? dy, string dz, Node n) =>
            Rows(x, y) ? null : new[]
            {
                dx is not null && dy is not null ? $"{Kernels}Subtract<T>({dx}, {dy}, {dz});"
                : dx is not null ? $"{dx}.CopyTo({dz});" : $"{Kernels}Negate<T>({dy}, {dz});",
            };

        protected override string[]? VjpKernel(Operand x, Operand y, string z, string g, Node n)
        {
            if (Rows(x, y)) return null;
            var lines = new List<string>();
            if (x.Adjoint is not null)
                lines.Add(x.Kind == OperandKind.Block ? $"{Kernels}AddTo<T>({g}, {x.Adjoint});" : $"{x.Adjoint} += {Kernels}Sum<T>({g});");
            if (y.Adjoint is not null)
                lines.Add(y.Kind == OperandKind.Block ? $"{Kernels}SubtractFrom<T>({g}, {y.Adjoint});" : $"{y.Adjoint} -= {Kernels}Sum<T>({g});");
            return lines.ToArray();
        }
    }
}
