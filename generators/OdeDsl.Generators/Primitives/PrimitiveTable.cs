using System;
using System.Collections.Generic;
using System.Linq;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>The registry: one <see cref="Primitive"/> per <see cref="OpKind"/> (a test checks none is missing).</summary>
    internal static class PrimitiveTable
    {
        private static readonly Dictionary<OpKind, Primitive> s_table = new Primitive[]
        {
            new StatePrimitive(), new TimePrimitive(), new ParamPrimitive(), new ConstPrimitive(), new SlicePrimitive(),
            new AddPrimitive(), new SubPrimitive(), new MulPrimitive(), new DivPrimitive(), new NegPrimitive(),
            new TanhPrimitive(), new SigmoidPrimitive(), new ReluPrimitive(), new SoftplusPrimitive(), new EluPrimitive(),
            new ExpPrimitive(), new LogPrimitive(), new SinPrimitive(), new CosPrimitive(), new SqrtPrimitive(),
            new SquarePrimitive(), new AbsPrimitive(), new PowPrimitive(),
            new MatVecPrimitive(), new DotPrimitive(), new SumPrimitive(), new MeanPrimitive(), new OuterPrimitive(),
            new TransposePrimitive(), new ConcatPrimitive(),
            new Conv2dPrimitive(), new GroupNormPrimitive(), new ConcatChannelPrimitive(),
            new AvgPoolPrimitive(), new GlobalAvgPoolPrimitive(),
        }.ToDictionary(p => p.Kind);

        public static IEnumerable<OpKind> Registered => s_table.Keys;

        public static Primitive Get(OpKind kind) =>
            s_table.TryGetValue(kind, out var p) ? p : throw new InvalidOperationException($"No primitive registered for {kind}.");
    }
}
