using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Transpose(m) of a per-row [r, c] matrix: a permutation, so JVP and VJP permute the same way.</summary>
    internal sealed class TransposePrimitive : Primitive
    {
        public override OpKind Kind => OpKind.Transpose;

        // second order (Ir/DivergenceGraph): linear
        public override int? Tangent(TangentBuilder g, Node n, int[] d) => g.Apply(n, d[0]);
        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            if (args[0].Shape.Count != 2) throw new ShapeError($"Transpose needs a matrix, `{args[0].Text}` is {ShapeText(args[0])}");
            return new[] { args[0].Shape[1], args[0].Shape[0] };
        }

        private static void Loop(EmitContext c, Node n, string line)
        {
            int r = n.Shape[1], cols = n.Shape[0];
            c.Open("for (int b = 0; b < batch; b++)");
            c.Open($"for (int i = 0; i < {r}; i++)");
            c.Line($"for (int j = 0; j < {cols}; j++) {line}");
            c.Close();
            c.Close();
        }

        // the input is [r, c] indexed i * c + j; the output is [c, r] indexed j * r + i
        private static string In(Node n) => $"i * {n.Shape[0]} + j";
        private static string Out(Node n) => $"j * {n.Shape[1]} + i";

        public override void EmitForward(EmitContext c, Node n) => Loop(c, n, $"{c.Val(n.Id, Out(n))} = {c.Val(n.Arg(0), In(n))};");
        public override void EmitJvp(EmitContext c, Node n) => Loop(c, n, $"{c.Tan(n.Id, Out(n))} = {c.Tan(n.Arg(0), In(n))};");
        public override void EmitVjp(EmitContext c, Node n)
        {
            if (c.Adj(n.Arg(0), In(n)) is { } ax) Loop(c, n, $"{ax} += {c.Adj(n.Id, Out(n))};");
        }
    }
}
