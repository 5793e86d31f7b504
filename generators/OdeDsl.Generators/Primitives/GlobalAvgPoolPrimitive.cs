using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>GlobalAvgPool(x): x [C, ...] → [C], each channel's mean. Linear: JVP pools the tangent; x̄ += ȳ[c] / spatial.</summary>
    internal sealed class GlobalAvgPoolPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.GlobalAvgPool;

        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            if (args[0].Shape.Count < 2) throw new ShapeError($"GlobalAvgPool needs x [C, ...], `{args[0].Text}` is {ShapeText(args[0])}");
            return new[] { args[0].Shape[0] };
        }

        private static string Dims(EmitContext c, Node n) => $"batch, {n.Shape[0]}, {c.Node(n.Arg(0)).Size / n.Shape[0]}";

        public override void EmitForward(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.Pooling.GlobalAvgPool<T>({Dims(c, n)}, {c.ValSpan(n.Arg(0))}, {c.ValSpan(n.Id)});");

        public override void EmitJvp(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.Pooling.GlobalAvgPool<T>({Dims(c, n)}, {c.TanSpan(n.Arg(0))}, {c.TanSpan(n.Id)});");

        public override void EmitVjp(EmitContext c, Node n)
        {
            if (c.Adj(n.Arg(0), "i") is not { } ax) return;
            int spatial = c.Node(n.Arg(0)).Size / n.Shape[0];
            c.RowLoop(c.Node(n.Arg(0)).Size, $"{ax} += {c.Adj(n.Id, $"i / {spatial}")} / {EmitContext.Literal(spatial)};");
        }
    }
}
