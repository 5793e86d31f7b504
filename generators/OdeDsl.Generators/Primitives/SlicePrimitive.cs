using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// h[i], h[a..b], m[i], m[i, j]: a view of Args[0] from offset Ints[0] with shape Ints[1..]. It owns no storage:
    /// reads, tangents and adjoints address the base directly, so its JVP and VJP are free.
    /// </summary>
    internal sealed class SlicePrimitive : Primitive
    {
        public override OpKind Kind => OpKind.Slice;

        // second order (Ir/DivergenceGraph): the same view of the tangent
        public override int? Tangent(TangentBuilder g, Node n, int[] d) => Piece(g, d[0], n.Ints[0], n.Ints.Skip(1).ToArray());

        /// <summary>
        /// The view [offset, offset + size) of tangent <paramref name="d"/> with <paramref name="shape"/>: where d is a Concat
        /// and the view is exactly one of its operands (a basis tangent's element, e_j[i] = 0 or 1), that operand itself,
        /// so that constant tangents fold on.
        /// </summary>
        public static int Piece(TangentBuilder g, int d, int offset, int[] shape)
        {
            var t = g[d];
            int size = shape.Aggregate(1, (p, k) => p * k), at = 0;
            if (t.Op == OpKind.Concat)
                foreach (int a in t.Args)
                {
                    if (at == offset && g[a].Size == size && g[a].Shape.SequenceEqual(shape)) return a;
                    at += g[a].Size;
                }
            return g.Op(OpKind.Slice, new[] { d }, 0, new[] { offset }.Concat(shape).ToArray());
        }
        public override bool OwnsSlot => false;
        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            var shape = ints.Skip(1).ToArray();
            int size = shape.Aggregate(1, (p, d) => p * d);
            if (ints[0] < 0 || ints[0] + size > args[0].Size)
                throw new ShapeError($"index {ints[0]} (length {size}) is outside `{args[0].Text}` of shape {ShapeText(args[0])}");
            return shape;
        }
        public override void EmitForward(EmitContext c, Node n) { }
        public override void EmitJvp(EmitContext c, Node n) { }
        public override void EmitVjp(EmitContext c, Node n) { }
    }
}
