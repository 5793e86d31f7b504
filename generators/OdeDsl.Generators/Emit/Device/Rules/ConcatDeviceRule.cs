using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>Concat(a, b, ...), Concat(h, t), Vec.Of(x, y, ...): operands laid end to end; linear, so the JVP
    /// concatenates tangents (zeros where an operand has none) and the VJP hands each operand its piece.</summary>
    internal sealed class ConcatDeviceRule : DeviceRule
    {
        public override OpKind Kind => OpKind.Concat;

        private static void Pieces(DeviceContext c, Node n, System.Func<int, string, string, string?> line)
        {
            int off = 0;
            foreach (int a in n.Args)
            {
                int size = c.Node(a).Size, at = off;
                if (line(a, "0", "0") is not null) c.Elements(size, i => new[] { line(a, i, At(at, i))! });
                off += size;
            }
        }

        private static string At(int off, string i) =>
            i == "0" ? off.ToString(System.Globalization.CultureInfo.InvariantCulture) : off == 0 ? i : $"{off} + {i}";

        public override void Forward(DeviceContext c, Node n) =>
            Pieces(c, n, (a, i, o) => $"{c.Val(n.Id, o)} = {c.Val(a, i)};");

        public override void Jvp(DeviceContext c, Node n) =>
            Pieces(c, n, (a, i, o) => $"{c.Tan(n.Id, o)} = {c.Tan(a, i) ?? c.Zero};");

        public override void Vjp(DeviceContext c, Node n) =>
            Pieces(c, n, (a, i, o) => c.Adj(a, i) is { } ax ? $"{ax} += {c.Adj(n.Id, o)};" : null);
    }
}
