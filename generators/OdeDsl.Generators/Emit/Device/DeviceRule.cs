using System.Collections.Generic;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device
{
    /// <summary>
    /// One primitive's per-trajectory device code (ILGPU): forward value, tangent (only called when the node depends on
    /// the state) and adjoint (adds the node's adjoint, pulled back, into its inputs' accumulators). The rules mirror the
    /// batched CPU rules in Primitives/ element for element; a primitive without a rule here has no device code (the
    /// type gets ODE0100 and its CPU code only), see <see cref="DeviceRuleTable"/>.
    /// </summary>
    internal abstract class DeviceRule
    {
        public abstract OpKind Kind { get; }
        public abstract void Forward(DeviceContext c, Node n);
        public abstract void Jvp(DeviceContext c, Node n);
        public abstract void Vjp(DeviceContext c, Node n);
    }

    /// <summary>y = F(x) element by element, with F'(x) expressed through x and y.</summary>
    internal abstract class UnaryDeviceRule : DeviceRule
    {
        protected abstract string F(DeviceContext c, string x, Node n);
        protected abstract string Derivative(DeviceContext c, string x, string y, Node n);

        public override void Forward(DeviceContext c, Node n) =>
            c.Elements(n.Size, i => new[] { $"{c.Val(n.Id, i)} = {F(c, c.Val(n.Arg(0), i), n)};" });

        public override void Jvp(DeviceContext c, Node n) =>
            c.Elements(n.Size, i => new[] { $"{c.Tan(n.Id, i)} = {Derivative(c, c.Val(n.Arg(0), i), c.Val(n.Id, i), n)} * {c.Tan(n.Arg(0), i)};" });

        public override void Vjp(DeviceContext c, Node n)
        {
            if (c.Adj(n.Arg(0), "0") is null) return;
            c.Elements(n.Size, i => new[] { $"{c.Adj(n.Arg(0), i)} += {Derivative(c, c.Val(n.Arg(0), i), c.Val(n.Id, i), n)} * {c.Adj(n.Id, i)};" });
        }
    }

    /// <summary>z = x ∘ y element by element; a scalar operand broadcasts (its adjoint sums over the elements).</summary>
    internal abstract class BinaryDeviceRule : DeviceRule
    {
        protected abstract string Op { get; }
        /// <summary>(x, y, z, dx or null, dy or null) → dz.</summary>
        protected abstract string Tangent(string x, string y, string z, string? dx, string? dy);
        /// <summary>(x, y, z, g) → contributions to x's and y's adjoints.</summary>
        protected abstract (string Dx, string Dy) Adjoint(string x, string y, string z, string g);

        public override void Forward(DeviceContext c, Node n) =>
            c.Elements(n.Size, i => new[] { $"{c.Val(n.Id, i)} = {c.Val(n.Arg(0), c.Bcast(n.Arg(0), n.Size, i))} {Op} {c.Val(n.Arg(1), c.Bcast(n.Arg(1), n.Size, i))};" });

        public override void Jvp(DeviceContext c, Node n) =>
            c.Elements(n.Size, i =>
            {
                string ix = c.Bcast(n.Arg(0), n.Size, i), iy = c.Bcast(n.Arg(1), n.Size, i);
                return new[] { $"{c.Tan(n.Id, i)} = {Tangent(c.Val(n.Arg(0), ix), c.Val(n.Arg(1), iy), c.Val(n.Id, i), c.Tan(n.Arg(0), ix), c.Tan(n.Arg(1), iy))};" };
            });

        public override void Vjp(DeviceContext c, Node n)
        {
            if (c.Adj(n.Arg(0), "0") is null && c.Adj(n.Arg(1), "0") is null) return;
            c.Elements(n.Size, i =>
            {
                string ix = c.Bcast(n.Arg(0), n.Size, i), iy = c.Bcast(n.Arg(1), n.Size, i);
                var (dx, dy) = Adjoint(c.Val(n.Arg(0), ix), c.Val(n.Arg(1), iy), c.Val(n.Id, i), "g");
                var lines = new List<string> { $"{c.T} g = {c.Adj(n.Id, i)};" };
                if (c.Adj(n.Arg(0), ix) is { } ax) lines.Add($"{ax} += {dx};");
                if (c.Adj(n.Arg(1), iy) is { } ay) lines.Add($"{ay} += {dy};");
                return lines;
            });
        }
    }

    /// <summary>Leaves and views: no code, their location is their value.</summary>
    internal sealed class ViewDeviceRule : DeviceRule
    {
        public ViewDeviceRule(OpKind kind) => Kind = kind;
        public override OpKind Kind { get; }
        public override void Forward(DeviceContext c, Node n) { }
        public override void Jvp(DeviceContext c, Node n) { }
        public override void Vjp(DeviceContext c, Node n) { }
    }
}
