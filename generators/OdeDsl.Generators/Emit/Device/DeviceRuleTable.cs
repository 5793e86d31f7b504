using System.Collections.Generic;
using OdeDsl.Generators.Emit.Device.Rules;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device
{
    /// <summary>
    /// The device rules by primitive. A primitive added to <see cref="OpKind"/> without a rule here is not an error:
    /// <see cref="TryGet"/> fails, and the generator skips that type's device code with the informational ODE0100.
    /// Conv2d, GroupNorm, AvgPool, GlobalAvgPool and ConcatChannel have no rule on purpose: image fields are whole
    /// tensors per sample, a poor fit for one thread per trajectory (their GPU path would be the batched one).
    /// </summary>
    internal static class DeviceRuleTable
    {
        private static readonly Dictionary<OpKind, DeviceRule> Rules = Build();

        private static Dictionary<OpKind, DeviceRule> Build()
        {
            var rules = new DeviceRule[]
            {
                new ViewDeviceRule(OpKind.State), new ViewDeviceRule(OpKind.Time), new ViewDeviceRule(OpKind.Param),
                new ViewDeviceRule(OpKind.Const), new ViewDeviceRule(OpKind.Slice),
                new AddDeviceRule(), new SubDeviceRule(), new MulDeviceRule(), new DivDeviceRule(), new NegDeviceRule(),
                new TanhDeviceRule(), new SigmoidDeviceRule(), new ReluDeviceRule(), new SoftplusDeviceRule(), new EluDeviceRule(),
                new ExpDeviceRule(), new LogDeviceRule(), new SinDeviceRule(), new CosDeviceRule(), new SqrtDeviceRule(),
                new SquareDeviceRule(), new AbsDeviceRule(), new PowDeviceRule(),
                new MatVecDeviceRule(), new DotDeviceRule(), new SumDeviceRule(), new MeanDeviceRule(),
                new OuterDeviceRule(), new TransposeDeviceRule(), new ConcatDeviceRule(),
            };
            var table = new Dictionary<OpKind, DeviceRule>();
            foreach (var r in rules) table[r.Kind] = r;
            return table;
        }

        public static bool TryGet(OpKind kind, out DeviceRule rule) => Rules.TryGetValue(kind, out rule!);
    }
}
