using System.Linq;
using System.Collections.Generic;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// x + y: dz = dx + dy; x̄ += z̄, ȳ += z̄. Kernels: block + block, block + scalar, and block + θ row vector (a bias:
    /// RowOps.AddRowVector forward, column sums of z̄ into the bias gradient backward).
    /// </summary>
    internal sealed class AddPrimitive : BinaryElementwise
    {
        public override OpKind Kind => OpKind.Add;

        // second order (Ir/DivergenceGraph): dx + dy, a broadcast scalar tangent spread over the output
        public override int? Tangent(TangentBuilder g, Node n, int[] d) => g.Fit(g.Sum(d[0], d[1]), n);
        protected override string Op => "+";
        protected override string Jvp(string x, string y, string z, string? dx, string? dy) =>
            dx is null ? dy! : dy is null ? dx : $"{dx} + {dy}";
        protected override (string Dx, string Dy) Vjp(string x, string y, string z, string g) => (g, g);

        protected override string[]? ForwardKernel(Operand x, Operand y, string z, Node n)
        {
            if (x.Kind == OperandKind.Row) (x, y) = (y, x);
            if (y.Kind == OperandKind.Row) return new[] { $"{RowKernels}AddRowVector<T>(batch, {n.Size}, {x.Value}, {y.Value}, {z});" };
            return new[] { $"{Kernels}Add<T>({x.Value}, {y.Value}, {z});" };
        }

        protected override string[]? JvpKernel(Operand x, Operand y, string z, string? dx, string? dy, string dz, Node n) =>
            new[] { dx is not null && dy is not null ? $"{Kernels}Add<T>({dx}, {dy}, {dz});" : $"{dx ?? dy}.CopyTo({dz});" };

        protected override string[]? VjpKernel(Operand x, Operand y, string z, string g, Node n)
        {
            var lines = new List<string>();
            foreach (var o in new[] { x, y })
            {
                if (o.Adjoint is null) continue;
                lines.Add(o.Kind switch
                {
                    OperandKind.Block => $"{Kernels}AddTo<T>({g}, {o.Adjoint});",
                    OperandKind.Row => $"{RowKernels}AccumulateColumnSums<T>(batch, {n.Size}, {g}, {o.Adjoint});",
                    _ => $"{o.Adjoint} += {Kernels}Sum<T>({g});",
                });
            }
            return lines.ToArray();
        }
    }
}
