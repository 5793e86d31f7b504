using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// Conv2d(x, K, bias, stride, padding) with K [Cout, Cin, kh, kw] and bias [Cout] as [Param]s, on the whole batch
    /// through OdeDsl.Tensors.Conv2d (im2col + GEMM). Linear in x: the JVP is the convolution of the tangent without
    /// bias. VJP: x̄ += Conv2d.BackwardInput(ȳ) (through a temporary, the kernel writes; into x̄ itself when that is x̄'s only
    /// contribution), K̄ and bias̄ accumulate.
    /// </summary>
    internal sealed class Conv2dPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.Conv2d;
        public override bool WritesFirstArgAdjoint(EmitContext c, Node n) => true;

        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            Node x = args[0], k = args[1], bias = args[2];
            if (x.Shape.Count != 3) throw new ShapeError($"Conv2d needs x [C, H, W], `{x.Text}` is {ShapeText(x)}");
            if (k.Shape.Count != 4 || k.Shape[1] != x.Shape[0])
                throw new ShapeError($"`{k.Text}` is {ShapeText(k)} but `{x.Text}` is {ShapeText(x)} (kernel [Cout, {x.Shape[0]}, kh, kw] expected)");
            if (bias.Shape.Count != 1 || bias.Shape[0] != k.Shape[0])
                throw new ShapeError($"`{bias.Text}` is {ShapeText(bias)} but `{k.Text}` has {k.Shape[0]} output channels");
            int stride = ints[0], pad = ints[1];
            if (stride < 1 || pad < 0) throw new ShapeError($"stride {stride} and padding {pad} must be ≥ 1 and ≥ 0");
            int oh = (x.Shape[1] + 2 * pad - k.Shape[2]) / stride + 1, ow = (x.Shape[2] + 2 * pad - k.Shape[3]) / stride + 1;
            if (oh < 1 || ow < 1) throw new ShapeError($"the kernel {ShapeText(k)} does not fit `{x.Text}` {ShapeText(x)} with padding {pad}");
            return new[] { k.Shape[0], oh, ow };
        }

        // Value = patch size Cin·kh·kw, Ints[2] = input size per row (set by the parser).
        // ScratchFixed bounds Conv2dShape.ScratchLength for every batch: SamplesPerGemm·OutSpatial < 256 + OutSpatial.
        public override int ScratchFixed(Node n) => ((int)n.Value + n.Shape[0]) * (256 + n.Shape[1] * n.Shape[2]);
        public override int ScratchPerRow(Node n) => n.Ints[2];

        private static string Shape(EmitContext c, Node n)
        {
            var x = c.Node(n.Arg(0));
            var k = c.Node(n.Arg(1));
            return $"new global::OdeDsl.Tensors.Conv2dShape(batch, {x.Shape[0]}, {x.Shape[1]}, {x.Shape[2]}, {k.Shape[0]}, {k.Shape[2]}, {k.Shape[3]}, {n.Ints[0]}, {n.Ints[1]})";
        }

        public override void EmitForward(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.Conv2d.Forward<T>({Shape(c, n)}, {c.ValSpan(n.Arg(0))}, {c.ValSpan(n.Arg(1))}, {c.ValSpan(n.Arg(2))}, {c.ValSpan(n.Id)}, {c.Scratch});");

        public override void EmitJvp(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.Conv2d.Forward<T>({Shape(c, n)}, {c.TanSpan(n.Arg(0))}, {c.ValSpan(n.Arg(1))}, global::System.ReadOnlySpan<T>.Empty, {c.TanSpan(n.Id)}, {c.Scratch});");

        public override void EmitVjp(EmitContext c, Node n)
        {
            int xs = c.Node(n.Arg(0)).Size;
            if (c.AdjSpan(n.Arg(0)) is not null)
            {
                c.Line($"global::OdeDsl.Tensors.Conv2d.BackwardInput<T>({Shape(c, n)}, {c.AdjSpan(n.Id)}, {c.ValSpan(n.Arg(1))}, {c.WriteTarget(n.Arg(0), c.Temp(xs))}, {c.Scratch});");
                c.AddInto(n.Arg(0), c.Temp(xs));
            }
            c.Line($"global::OdeDsl.Tensors.Conv2d.BackwardWeight<T>({Shape(c, n)}, {c.ValSpan(n.Arg(0))}, {c.AdjSpan(n.Id)}, {c.AdjSpan(n.Arg(1))}, {c.AdjSpan(n.Arg(2))}, {c.Scratch});");
        }
    }
}
