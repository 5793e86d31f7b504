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
        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            foreach (var a in args)
                if (a.Shape.Count > 1) throw new ShapeError($"Concat takes scalars and vectors, `{a.Text}` is {ShapeText(a)}");
            return new[] { args.Sum(a => a.Size) };
        }

        private static void Pieces(EmitContext c, Node n, System.Func<int, int, string?> line)
        {
            int off = 0;
            for (int k = 0; k < n.Args.Count; k++)
            {
                int size = c.Node(n.Arg(k)).Size;
                var text = line(n.Arg(k), off);
                if (text is not null) c.RowLoop(size, text);
                off += size;
            }
        }

        private static string At(int off) => off == 0 ? "i" : $"{off} + i";

        public override void EmitForward(EmitContext c, Node n) =>
            Pieces(c, n, (a, off) => $"{c.Val(n.Id, At(off))} = {c.Val(a, "i")};");

        public override void EmitJvp(EmitContext c, Node n) =>
            Pieces(c, n, (a, off) => $"{c.Tan(n.Id, At(off))} = {c.Tan(a, "i") ?? "T.Zero"};");

        public override void EmitVjp(EmitContext c, Node n) =>
            Pieces(c, n, (a, off) => c.Adj(a, "i") is { } ax ? $"{ax} += {c.Adj(n.Id, At(off))};" : null);
    }
}
