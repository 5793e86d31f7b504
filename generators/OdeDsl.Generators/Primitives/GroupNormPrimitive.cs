using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>
    /// GroupNorm(x, groups, γ, β) on x [C, ...] with PyTorch's semantics (eps 1e-5), through OdeDsl.Tensors.GroupNorm.
    /// The forward keeps (mean, rstd) per row and group in the node's extra storage; the JVP (w.r.t. x) and the VJP
    /// (x̄ through a temporary, γ̄ and β̄ accumulated) reuse them.
    /// </summary>
    internal sealed class GroupNormPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.GroupNorm;
        public override bool WritesFirstArgAdjoint(EmitContext c, Node n) => true;

        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            Node x = args[0], gamma = args[1], beta = args[2];
            int groups = ints[0];
            if (x.Shape.Count < 2) throw new ShapeError($"GroupNorm needs x [C, ...], `{x.Text}` is {ShapeText(x)}");
            int c = x.Shape[0];
            if (groups < 1 || c % groups != 0) throw new ShapeError($"{groups} groups do not divide the {c} channels of `{x.Text}` {ShapeText(x)}");
            if (!gamma.Shape.Equals(beta.Shape) || gamma.Shape.Count != 1 || gamma.Shape[0] != c)
                throw new ShapeError($"`{gamma.Text}` is {ShapeText(gamma)} and `{beta.Text}` is {ShapeText(beta)} but `{x.Text}` has {c} channels");
            return x.Shape.ToArray();
        }

        public override int ExtraPerRow(Node n) => 2 * n.Ints[0];
        public override int ScratchPerRow(Node n) => n.Size;

        private static string Dims(Node n) => $"batch, {n.Shape[0]}, {n.Size / n.Shape[0]}, {n.Ints[0]}";
        private static string Stats(EmitContext c, Node n) => c.Extra(n.Id, 2 * n.Ints[0]);

        public override void EmitForward(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.GroupNorm.Forward<T>({Dims(n)}, T.CreateTruncating(1e-5d), {c.ValSpan(n.Arg(0))}, {c.ValSpan(n.Arg(1))}, {c.ValSpan(n.Arg(2))}, {c.ValSpan(n.Id)}, {Stats(c, n)});");

        public override void EmitJvp(EmitContext c, Node n) =>
            c.Line($"global::OdeDsl.Tensors.GroupNorm.JacobianVectorProduct<T>({Dims(n)}, {c.ValSpan(n.Arg(0))}, {c.ValSpan(n.Arg(1))}, {Stats(c, n)}, {c.TanSpan(n.Arg(0))}, {c.TanSpan(n.Id)});");

        public override void EmitVjp(EmitContext c, Node n)
        {
            c.Line($"global::OdeDsl.Tensors.GroupNorm.Backward<T>({Dims(n)}, {c.ValSpan(n.Arg(0))}, {c.ValSpan(n.Arg(1))}, {Stats(c, n)}, {c.AdjSpan(n.Id)}, {c.WriteTarget(n.Arg(0), c.Temp(n.Size))}, {c.AdjSpan(n.Arg(1))}, {c.AdjSpan(n.Arg(2))});");
            c.AddInto(n.Arg(0), c.Temp(n.Size));
        }
    }
}
