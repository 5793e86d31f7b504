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

        private const string Rows = "global::OdeDsl.Tensors.RowOps.";

        // The x piece goes through the strided whole-batch kernels (RowOps: one vector copy or add per row) wherever x has a
        // span: in the MNIST ODE block these were scalar loops over span indices, about a tenth of the adjoint's evaluation
        // time (docs/performance.md, "MNIST step on two cores"). The t channel stays a scalar row loop: a broadcast on the
        // way in, and on the way back a sum whose order (element by element) must not change with the vector width.
        private static bool HasSpan(EmitContext c, int id) => c.LocOf(id).Buffer != Buffer.Const;

        public override void EmitForward(EmitContext c, Node n)
        {
            int x = n.Arg(0), size = c.Node(x).Size;
            if (HasSpan(c, x)) c.Line($"{Rows}CopyBlock<T>(batch, {size}, {c.ValSpan(x)}, {c.Ld(x)}, {c.ValSpan(n.Id)}, {c.Ld(n.Id)});");
            else c.RowLoop(size, $"{c.Val(n.Id, "i")} = {c.Val(x, "i")};");
            c.RowLoop(n.Size - size, $"{c.Val(n.Id, $"{size} + i")} = {c.Val(n.Arg(1), "0")};");
        }

        public override void EmitJvp(EmitContext c, Node n)
        {
            int x = n.Arg(0), size = c.Node(x).Size;
            if (c.TanSpan(n.Id) is { } dn)
                c.Line(c.TanSpan(x) is { } dx
                    ? $"{Rows}CopyBlock<T>(batch, {size}, {dx}, {c.Ld(x)}, {dn}, {c.Ld(n.Id)});"
                    : $"{Rows}FillBlock<T>(batch, {size}, T.Zero, {dn}, {c.Ld(n.Id)});");
            else c.RowLoop(size, $"{c.Tan(n.Id, "i")} = {c.Tan(x, "i") ?? "T.Zero"};");
            c.RowLoop(n.Size - size, $"{c.Tan(n.Id, $"{size} + i")} = {c.Tan(n.Arg(1), "0") ?? "T.Zero"};");
        }

        /// <summary>x's adjoint is the first channels of the output's: copied rather than added when it has no other contribution.</summary>
        public override bool WritesFirstArgAdjoint(EmitContext c, Node n) => HasSpan(c, n.Arg(0)) && c.AdjSpan(n.Id) is not null;

        public override void EmitVjp(EmitContext c, Node n)
        {
            int x = n.Arg(0), size = c.Node(x).Size;
            if (HasSpan(c, x) && c.AdjSpan(x) is { } ax && c.AdjSpan(n.Id) is { } an)
                c.Line($"{Rows}{(c.AssignedAdjoints.Contains(x) ? "CopyBlock" : "AddBlock")}<T>(batch, {size}, {an}, {c.Ld(n.Id)}, {ax}, {c.Ld(x)});");
            else if (c.Adj(x, "i") is { } axi) c.RowLoop(size, $"{axi} += {c.Adj(n.Id, "i")};");
            if (c.Adj(n.Arg(1), "0") is { } at) c.RowLoop(n.Size - size, $"{at} += {c.Adj(n.Id, $"{size} + i")};");
        }
    }
}
