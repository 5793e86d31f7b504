using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Transpose of a per-trajectory [r, c] matrix: a permutation for values, tangents and adjoints alike
    /// (as Primitives/TransposePrimitive.cs).</summary>
    internal sealed class TransposeDeviceRule : DeviceRule
    {
        public override OpKind Kind => OpKind.Transpose;

        private static void Loop(DeviceContext c, Node n, string line)
        {
            c.Open($"for (int i = 0; i < {n.Shape[1]}; i++)");
            c.Line($"for (int j = 0; j < {n.Shape[0]}; j++) {line}");
            c.Close();
        }

        // the input is [r, c] indexed i * c + j; the output is [c, r] indexed j * r + i
        private static string In(Node n) => $"i * {n.Shape[0]} + j";
        private static string Out(Node n) => $"j * {n.Shape[1]} + i";

        public override void Forward(DeviceContext c, Node n) => Loop(c, n, $"{c.Val(n.Id, Out(n))} = {c.Val(n.Arg(0), In(n))};");
        public override void Jvp(DeviceContext c, Node n) => Loop(c, n, $"{c.Tan(n.Id, Out(n))} = {c.Tan(n.Arg(0), In(n))};");
        public override void Vjp(DeviceContext c, Node n)
        {
            if (c.Adj(n.Arg(0), In(n)) is { } ax) Loop(c, n, $"{ax} += {c.Adj(n.Id, Out(n))};");
        }
    }
}
