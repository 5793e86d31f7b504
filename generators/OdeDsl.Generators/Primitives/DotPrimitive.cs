using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Dot(x, y) = Σ xᵢyᵢ: dz = Σ (dxᵢ yᵢ + xᵢ dyᵢ); x̄ᵢ += z̄ yᵢ, ȳᵢ += z̄ xᵢ.</summary>
    internal sealed class DotPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.Dot;

        // second order (Ir/DivergenceGraph): Dot(dx, y) + Dot(x, dy)
        public override int? Tangent(TangentBuilder g, Node n, int[] d) =>
            g.Sum(d[0] == TangentBuilder.Zero ? d[0] : g.Op(OpKind.Dot, d[0], n.Arg(1)), d[1] == TangentBuilder.Zero ? d[1] : g.Op(OpKind.Dot, n.Arg(0), d[1]));
        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            if (args[0].Shape.Count != 1 || !args[0].Shape.Equals(args[1].Shape))
                throw new ShapeError($"Dot needs two vectors of one length: `{args[0].Text}` is {ShapeText(args[0])} but `{args[1].Text}` is {ShapeText(args[1])}");
            return new int[0];
        }

        public override void EmitForward(EmitContext c, Node n)
        {
            c.Open("for (int b = 0; b < batch; b++)");
            c.Line("T s = T.Zero;");
            c.Line($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++) s += {c.Val(n.Arg(0), "i")} * {c.Val(n.Arg(1), "i")};");
            c.Line($"{c.Val(n.Id, "0")} = s;");
            c.Close();
        }

        public override void EmitJvp(EmitContext c, Node n)
        {
            var terms = new[]
            {
                c.Tan(n.Arg(0), "i") is { } dx ? $"{dx} * {c.Val(n.Arg(1), "i")}" : null,
                c.Tan(n.Arg(1), "i") is { } dy ? $"{c.Val(n.Arg(0), "i")} * {dy}" : null,
            }.Where(s => s is not null);
            c.Open("for (int b = 0; b < batch; b++)");
            c.Line("T s = T.Zero;");
            c.Line($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++) s += {string.Join(" + ", terms)};");
            c.Line($"{c.Tan(n.Id, "0")} = s;");
            c.Close();
        }

        public override void EmitVjp(EmitContext c, Node n)
        {
            var ax = c.Adj(n.Arg(0), "i");
            var ay = c.Adj(n.Arg(1), "i");
            c.Open("for (int b = 0; b < batch; b++)");
            c.Line($"T g = {c.Adj(n.Id, "0")};");
            c.Open($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++)");
            if (ax is not null) c.Line($"{ax} += g * {c.Val(n.Arg(1), "i")};");
            if (ay is not null) c.Line($"{ay} += g * {c.Val(n.Arg(0), "i")};");
            c.Close();
            c.Close();
        }
    }
}
