using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device.Rules
{
    /// <summary>
    /// y = W x (Ints[0] = 1: Wᵀ x), one dot product per output element: stored W is [out, in] row-major (or [in, out]
    /// transposed). JVP: ẏ = W ẋ (+ Ẇ x where W depends on h). VJP: x̄ += Wᵀ ȳ, W̄ += ȳ xᵀ (as Primitives/MatVecPrimitive.cs).
    /// </summary>
    internal sealed class MatVecDeviceRule : DeviceRule
    {
        public override OpKind Kind => OpKind.MatVec;

        private static (int Out, int In, bool Trans) Dims(DeviceContext c, Node n)
        {
            var w = c.Node(n.Arg(0));
            return n.Ints[0] == 1 ? (w.Shape[1], w.Shape[0], true) : (w.Shape[0], w.Shape[1], false);
        }

        private static string WIndex(DeviceContext c, Node n)
        {
            var (o, i, t) = Dims(c, n);
            return t ? $"k * {o} + o" : $"o * {i} + k";
        }

        private static void Rows(DeviceContext c, Node n, string target, string term)
        {
            var (o, i, _) = Dims(c, n);
            c.Open($"for (int o = 0; o < {o}; o++)");
            c.Line($"{c.T} s = {c.Zero};");
            c.Line($"for (int k = 0; k < {i}; k++) s += {term};");
            c.Line($"{target} = s;");
            c.Close();
        }

        private static string Out(DeviceContext c, Node n, System.Func<int, string, string?> at) => at(n.Id, n.Size == 1 ? "0" : "o")!;

        public override void Forward(DeviceContext c, Node n) =>
            Rows(c, n, Out(c, n, c.Val), $"{c.Val(n.Arg(0), WIndex(c, n))} * {c.Val(n.Arg(1), "k")}");

        public override void Jvp(DeviceContext c, Node n)
        {
            string w = c.Val(n.Arg(0), WIndex(c, n)), x = c.Val(n.Arg(1), "k");
            string? dw = c.Tan(n.Arg(0), WIndex(c, n)), dx = c.Tan(n.Arg(1), "k");
            string term = dw is null ? $"{w} * {dx}" : dx is null ? $"{dw} * {x}" : $"{w} * {dx} + {dw} * {x}";
            Rows(c, n, Out(c, n, c.Tan), term);
        }

        public override void Vjp(DeviceContext c, Node n)
        {
            var (o, i, _) = Dims(c, n);
            string? ax = c.Adj(n.Arg(1), "k"), aw = c.Adj(n.Arg(0), WIndex(c, n));
            if (ax is null && aw is null) return;
            c.Open($"for (int o = 0; o < {o}; o++)");
            c.Line($"{c.T} g = {Out(c, n, c.Adj)};");
            c.Open($"for (int k = 0; k < {i}; k++)");
            if (ax is not null) c.Line($"{ax} += g * {c.Val(n.Arg(0), WIndex(c, n))};");
            if (aw is not null) c.Line($"{aw} += g * {c.Val(n.Arg(1), "k")};");
            c.Close();
            c.Close();
        }
    }
}
