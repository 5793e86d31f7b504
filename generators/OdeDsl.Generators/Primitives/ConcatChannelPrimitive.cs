using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// ConcatChannel(x, t): [C, H, W] → [C + 1, H, W], the last channel filled with the scalar t (time as an input of
    /// a convolution). Linear: tangents concatenate the same way; t̄ sums the adjoint of the added channel.
    /// </summary>
    internal sealed class ConcatChannelPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.ConcatChannel;

        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            if (args[0].Shape.Count < 2) throw new ShapeError($"ConcatChannel needs x [C, H, W], `{args[0].Text}` is {ShapeText(args[0])}");
            if (args[1].Size != 1) throw new ShapeError($"ConcatChannel appends a scalar, `{args[1].Text}` is {ShapeText(args[1])}");
            var shape = args[0].Shape.ToArray();
            shape[0]++;
            return shape;
        }

        public override void EmitForward(EmitContext c, Node n)
        {
            int size = c.Node(n.Arg(0)).Size;
            c.RowLoop(size, $"{c.Val(n.Id, "i")} = {c.Val(n.Arg(0), "i")};");
            c.RowLoop(n.Size - size, $"{c.Val(n.Id, $"{size} + i")} = {c.Val(n.Arg(1), "0")};");
        }

        public override void EmitJvp(EmitContext c, Node n)
        {
            int size = c.Node(n.Arg(0)).Size;
            c.RowLoop(size, $"{c.Tan(n.Id, "i")} = {c.Tan(n.Arg(0), "i") ?? "T.Zero"};");
            c.RowLoop(n.Size - size, $"{c.Tan(n.Id, $"{size} + i")} = {c.Tan(n.Arg(1), "0") ?? "T.Zero"};");
        }

        public override void EmitVjp(EmitContext c, Node n)
        {
            int size = c.Node(n.Arg(0)).Size;
            if (c.Adj(n.Arg(0), "i") is { } ax) c.RowLoop(size, $"{ax} += {c.Adj(n.Id, "i")};");
            if (c.Adj(n.Arg(1), "0") is { } at) c.RowLoop(n.Size - size, $"{at} += {c.Adj(n.Id, $"{size} + i")};");
        }
    }
}
