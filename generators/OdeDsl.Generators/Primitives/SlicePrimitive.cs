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
