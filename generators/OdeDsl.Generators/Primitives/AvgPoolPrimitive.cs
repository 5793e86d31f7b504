using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// AvgPool(x, kernel, stride) on x [C, H, W] (no padding, PyTorch's nn.AvgPool2d) through OdeDsl.Tensors.Pooling.
    /// Linear: the JVP pools the tangent; the VJP spreads ȳ over each window (through a temporary, the kernel writes).
    /// </summary>
    internal sealed class AvgPoolPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.AvgPool;
        public override bool WritesFirstArgAdjoint(EmitContext c, Node n) => true;

        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            var x = args[0];
            int k = ints[0], s = ints[1];
            if (x.Shape.Count != 3) throw new ShapeError($"AvgPool needs x [C, H, W], `{x.Text}` is {ShapeText(x)}");
            if (k < 1 || s < 1 || k > x.Shape[1] || k > x.Shape[2])
                throw new ShapeError($"kernel {k} with stride {s} does not fit `{x.Text}` {ShapeText(x)}");
            return new[] { x.Shape[0], (x.Shape[1] - k) / s + 1, (x.Shape[2] - k) / s + 1 };
        }

        // Ints[2] = input size per row (set by the parser): the backward temporary
        public override int ScratchPerRow(Node n) => n.Ints[2];

        private static string Dims(EmitContext c, Node n)
        {
            var x = c.Node(n.Arg(0));
            return $"batch, {x.Shape[0]}, {x.Shape[1]}, {x.Shape[2]}, {n.Ints[0]}, {n.Ints[1]}";
        }

        public override void EmitForward(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.Pooling.AvgPool2d<T>({Dims(c, n)}, {c.ValSpan(n.Arg(0))}, {c.ValSpan(n.Id)});");

        public override void EmitJvp(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.Pooling.AvgPool2d<T>({Dims(c, n)}, {c.TanSpan(n.Arg(0))}, {c.TanSpan(n.Id)});");

        public override void EmitVjp(EmitContext c, Node n)
        {
            if (c.AdjSpan(n.Arg(0)) is null) return;
            int xs = c.Node(n.Arg(0)).Size;
            c.Line($"global::OdeDsl.Tensors.Pooling.AvgPool2dBackward<T>({Dims(c, n)}, {c.AdjSpan(n.Id)}, {c.WriteTarget(n.Arg(0), c.Temp(xs))});");
            c.AddInto(n.Arg(0), c.Temp(xs));
        }
    }
}
