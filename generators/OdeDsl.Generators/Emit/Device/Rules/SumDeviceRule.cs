using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Sum(x) (and Mean(x): scaled by 1/n, Node.Value = n): linear, the JVP sums tangents, the VJP broadcasts
    /// (as Primitives/SumPrimitive.cs).</summary>
    internal class SumDeviceRule : DeviceRule
    {
        public override OpKind Kind => OpKind.Sum;
        protected virtual string Scale(DeviceContext c, Node n) => "";

        private void Reduce(DeviceContext c, Node n, string target, string element)
        {
            c.Open("");
            c.Line($"{c.T} s = {c.Zero};");
            c.Line($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++) s += {element};");
            c.Line($"{target} = s{Scale(c, n)};");
            c.Close();
        }

        public override void Forward(DeviceContext c, Node n) => Reduce(c, n, c.Val(n.Id, "0"), c.Val(n.Arg(0), "i"));
        public override void Jvp(DeviceContext c, Node n) => Reduce(c, n, c.Tan(n.Id, "0")!, c.Tan(n.Arg(0), "i")!);

        public override void Vjp(DeviceContext c, Node n)
        {
            if (c.Adj(n.Arg(0), "i") is not { } ax) return;
            c.Open("");
            c.Line($"{c.T} g = {c.Adj(n.Id, "0")}{Scale(c, n)};");
            c.Line($"for (int i = 0; i < {c.Node(n.Arg(0)).Size}; i++) {ax} += g;");
            c.Close();
        }
    }
}
