using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Mean(x) = Sum(x) / n: the rules of <see cref="SumPrimitive"/> scaled by 1/n.</summary>
    internal sealed class MeanPrimitive : SumPrimitive
    {
        public override OpKind Kind => OpKind.Mean;
        protected override string Scale(Node n) => $" / {EmitContext.Literal(n.Value)}";
    }
}
