using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// Concat(a, b, ...), Concat(h, t), Vec.Of(x, y, ...): scalars and vectors laid end to end in a vector.
    /// Linear: the JVP concatenates tangents (zeros where an operand has none); the VJP hands each operand its piece.
    /// </summary>
    internal sealed class ConcatPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.Concat;

        // second order (Ir/DivergenceGraph): the tangents laid end to end, zeros where an operand has none
        public override int? Tangent(TangentBuilder g, Node n, int[] d) =>
            g.Op(OpKind.Concat, d.Select((t, k) => t == TangentBuilder.Zero ? g.Zeros(g[n.Arg(k)]) : t).ToArray());
        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            foreach (var a in args)
                if (a.Shape.Count > 1) throw new ShapeError($"Concat takes scalars and vectors, `{a.Text}` is {ShapeText(a)}");
            return new[] { args.Sum(a => a.Size) };
        }

        private const string Rows = "global::OdeDsl.Tensors.RowOps.";

        /// <summary>
        /// Emits one statement per operand: a strided whole-batch kernel call (RowOps) where the operand has a span
        /// (state, time, θ, workspace: <paramref name="call"/>), else a scalar row loop (constants: <paramref name="line"/>).
        /// </summary>
        private static void Pieces(EmitContext c, Node n, System.Func<int, int, string?> line, System.Func<int, int, string?> call)
        {
            int off = 0;
            for (int k = 0; k < n.Args.Count; k++)
            {
                int a = n.Arg(k), size = c.Node(a).Size;
                if (c.LocOf(a).Buffer != Buffer.Const && call(a, off) is { } text) c.Line(text);
                else if (line(a, off) is { } body) c.RowLoop(size, body);
                off += size;
            }
        }

        private static string At(int off) => off == 0 ? "i" : $"{off} + i";

        // the piece of this node's slot in region f (values) or d (tangents) that operand k fills (adjoints: EmitContext.AdjSpan,
        // which knows when the output's adjoint is the cotangent)
        private static string Piece(Node n, string region, int off) => $"ws.Slice({region}{n.Id} + {off})";

        public override void EmitForward(EmitContext c, Node n) =>
            Pieces(c, n, (a, off) => $"{c.Val(n.Id, At(off))} = {c.Val(a, "i")};",
                (a, off) => $"{Rows}CopyBlock<T>(batch, {c.Node(a).Size}, {c.ValSpan(a)}, {c.Ld(a)}, {Piece(n, "f", off)}, {n.Size});");

        public override void EmitJvp(EmitContext c, Node n) =>
            Pieces(c, n, (a, off) => $"{c.Tan(n.Id, At(off))} = {c.Tan(a, "i") ?? "T.Zero"};",
                (a, off) => c.TanSpan(a) is { } da
                    ? $"{Rows}CopyBlock<T>(batch, {c.Node(a).Size}, {da}, {c.Ld(a)}, {Piece(n, "d", off)}, {n.Size});"
                    : $"{Rows}FillBlock<T>(batch, {c.Node(a).Size}, T.Zero, {Piece(n, "d", off)}, {n.Size});");

        public override void EmitVjp(EmitContext c, Node n) =>
            Pieces(c, n, (a, off) => c.Adj(a, "i") is { } ax ? $"{ax} += {c.Adj(n.Id, At(off))};" : null,
                (a, off) => c.AdjSpan(a) is { } ax
                    ? $"{Rows}AddBlock<T>(batch, {c.Node(a).Size}, {c.AdjSpan(n.Id, off)}, {n.Size}, {ax}, {c.Ld(a)});" : null);
    }
}
