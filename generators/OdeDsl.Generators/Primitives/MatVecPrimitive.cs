using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// y = W x (or Wᵀ x when Ints[0] = 1) with W a [Param] matrix of shape [r, c]. Over the batch this is one GEMM,
    /// Y[batch, r] = X[batch, c]·Wᵀ. JVP: Ẏ = Ẋ·Wᵀ (W has no tangent w.r.t. h). VJP: X̄ += Ȳ·W and W̄ += Ȳᵀ·X,
    /// the latter summing over rows as the contract requires (β = 1 accumulates).
    /// </summary>
    internal sealed class MatVecPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.MatVec;

        // second order (Ir/DivergenceGraph): linear in x: W·dx (same transpose flag)
        public override int? Tangent(TangentBuilder g, Node n, int[] d) =>
            g.Op(OpKind.MatVec, new[] { n.Arg(0), d[1] }, 0, n.Ints.ToArray());

        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            var w = args[0];
            var x = args[1];
            if (w.Shape.Count != 2) throw new ShapeError($"`{w.Text}` must be a matrix, it is {ShapeText(w)}");
            int rows = w.Shape[0], cols = w.Shape[1];
            if (ints[0] == 1) (rows, cols) = (cols, rows);
            if (x.Shape.Count != 1 || x.Shape[0] != cols)
                throw new ShapeError($"`{w.Text}` is {ShapeText(ints[0] == 1 ? new[] { rows, cols } : w.Shape.ToArray())} but `{x.Text}` is {ShapeText(x)}");
            return new[] { rows };
        }

        private static (int Out, int In, bool Trans) Dims(EmitContext c, Node n)
        {
            var w = c.Node(n.Arg(0));
            bool t = n.Ints[0] == 1;
            return t ? (w.Shape[1], w.Shape[0], true) : (w.Shape[0], w.Shape[1], false);
        }

        private static string W(EmitContext c, Node n) => c.ValSpan(n.Arg(0));

        // Y = X · op(W)ᵀ where op(W) is [out, in]: stored W is [out, in] (transB) or [in, out] (no trans).
        private static void Product(EmitContext c, Node n, string x, int ldx, string y, int ldy, string beta)
        {
            var (o, i, t) = Dims(c, n);
            c.Line($"global::OdeDsl.Tensors.Gemm.Multiply<T>(false, {(t ? "false" : "true")}, batch, {o}, {i}, T.One, {x}, {ldx}, {W(c, n)}, {(t ? o : i)}, {beta}, {y}, {ldy});");
        }

        public override void EmitForward(EmitContext c, Node n) =>
            Product(c, n, c.ValSpan(n.Arg(1)), c.Ld(n.Arg(1)), c.ValSpan(n.Id), c.Ld(n.Id), "T.Zero");

        public override void EmitJvp(EmitContext c, Node n) =>
            Product(c, n, c.TanSpan(n.Arg(1))!, c.Ld(n.Arg(1)), c.TanSpan(n.Id)!, c.Ld(n.Id), "T.Zero");

        public override void EmitVjp(EmitContext c, Node n)
        {
            var (o, i, t) = Dims(c, n);
            string g = c.AdjSpan(n.Id)!;
            int ldg = c.Ld(n.Id);
            if (c.AdjSpan(n.Arg(1)) is { } ax)
                // X̄[batch, in] += Ȳ[batch, out] · op(W)
                c.Line($"global::OdeDsl.Tensors.Gemm.Multiply<T>(false, {(t ? "true" : "false")}, batch, {i}, {o}, T.One, {g}, {ldg}, {W(c, n)}, {(t ? o : i)}, T.One, {ax}, {c.Ld(n.Arg(1))});");
            string gw = c.AdjSpan(n.Arg(0))!;
            string x = c.ValSpan(n.Arg(1));
            int ldx = c.Ld(n.Arg(1));
            if (!t)
                // W̄[out, in] += Ȳᵀ · X
                c.Line($"global::OdeDsl.Tensors.Gemm.Multiply<T>(true, false, {o}, {i}, batch, T.One, {g}, {ldg}, {x}, {ldx}, T.One, {gw}, {i});");
            else
                // W̄[in, out] += Xᵀ · Ȳ
                c.Line($"global::OdeDsl.Tensors.Gemm.Multiply<T>(true, false, {i}, {o}, batch, T.One, {x}, {ldx}, {g}, {ldg}, T.One, {gw}, {o});");
        }
    }
}
