using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Sum(x) (and Mean(x) with scale 1/n): a scalar per row; linear, so JVP sums tangents and VJP broadcasts.</summary>
    internal class SumPrimitive : Primitive
    {
        public override OpKind Kind => OpKind.Sum;

        // second order (Ir/DivergenceGraph): linear: the same reduction of the tangent (Mean inherits it)
        public override int? Tangent(TangentBuilder g, Node n, int[] d) => g.Apply(n, d[0]);
        public override int[] InferShape(Node[] args, double value, int[] ints) => new int[0];
        protected virtual string Scale(Node n) => "";

        public override void EmitForward(EmitContext c, Node n) => Reduce(c, n, c.Val(n.Arg(0), "i"), c.Val(n.Id, "0"));
        public override void EmitJvp(EmitContext c, Node n) => Reduce(c, n, c.Tan(n.Arg(0), "i")!, c.Tan(n.Id, "0")!);

        private void Reduce(EmitContext c, Node n, string element, string target)
        {
            c.Open("for (int b = 0; b < batch; b++)");
            c.Line("T s = T.Zero;");
            c.Line($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++) s += {element};");
            c.Line($"{target} = s{Scale(n)};");
            c.Close();
        }

        public override void EmitVjp(EmitContext c, Node n)
        {
            var adj = c.Adj(n.Arg(0), "i");
            if (adj is null) return;
            c.Open("for (int b = 0; b < batch; b++)");
            c.Line($"T g = {c.Adj(n.Id, "0")}{Scale(n)};");
            c.Line($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++) {adj} += g;");
            c.Close();
        }
    }
}
