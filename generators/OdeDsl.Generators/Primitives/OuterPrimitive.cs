using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Outer(x, y)[i, j] = xᵢyⱼ: dz = dxᵢyⱼ + xᵢdyⱼ; x̄ᵢ += Σⱼ z̄ᵢⱼyⱼ, ȳⱼ += Σᵢ z̄ᵢⱼxᵢ.</summary>
    internal sealed class OuterPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.Outer;

        // second order (Ir/DivergenceGraph): Outer(dx, y) + Outer(x, dy)
        public override int? Tangent(TangentBuilder g, Node n, int[] d) =>
            g.Sum(d[0] == TangentBuilder.Zero ? d[0] : g.Op(OpKind.Outer, d[0], n.Arg(1)), d[1] == TangentBuilder.Zero ? d[1] : g.Op(OpKind.Outer, n.Arg(0), d[1]));
        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            if (args[0].Shape.Count != 1 || args[1].Shape.Count != 1)
                throw new ShapeError($"Outer needs two vectors: `{args[0].Text}` is {ShapeText(args[0])}, `{args[1].Text}` is {ShapeText(args[1])}");
            return new[] { args[0].Size, args[1].Size };
        }

        private static void Loop(EmitContext c, Node n, params string[] body)
        {
            c.Open("for (int b = 0; b < batch; b++)");
            c.Open($"for (int i = 0; i < {n.Shape[0]}; i++)");
            c.Open($"for (int j = 0; j < {n.Shape[1]}; j++)");
            foreach (var l in body) c.Line(l);
            c.Close();
            c.Close();
            c.Close();
        }

        private static string Z(Node n) => $"i * {n.Shape[1]} + j";

        public override void EmitForward(EmitContext c, Node n) =>
            Loop(c, n, $"{c.Val(n.Id, Z(n))} = {c.Val(n.Arg(0), "i")} * {c.Val(n.Arg(1), "j")};");

        public override void EmitJvp(EmitContext c, Node n)
        {
            var dx = c.Tan(n.Arg(0), "i");
            var dy = c.Tan(n.Arg(1), "j");
            string x = c.Val(n.Arg(0), "i"), y = c.Val(n.Arg(1), "j");
            string rhs = dx is null ? $"{x} * {dy}" : dy is null ? $"{dx} * {y}" : $"{dx} * {y} + {x} * {dy}";
            Loop(c, n, $"{c.Tan(n.Id, Z(n))} = {rhs};");
        }

        public override void EmitVjp(EmitContext c, Node n)
        {
            var lines = new System.Collections.Generic.List<string> { $"T g = {c.Adj(n.Id, Z(n))};" };
            if (c.Adj(n.Arg(0), "i") is { } ax) lines.Add($"{ax} += g * {c.Val(n.Arg(1), "j")};");
            if (c.Adj(n.Arg(1), "j") is { } ay) lines.Add($"{ay} += g * {c.Val(n.Arg(0), "i")};");
            Loop(c, n, lines.ToArray());
        }
    }
}
