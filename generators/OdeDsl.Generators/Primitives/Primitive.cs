using System;
using System.Linq;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>A shape rule failed; the parser turns the message into ODE0003 at the offending expression.</summary>
    internal sealed class ShapeError : Exception
    {
        public ShapeError(string message) : base(message) { }
    }

    /// <summary>
    /// One primitive: its shape rule, its forward emission, its JVP rule (tangent of the output from the tangents of
    /// the inputs; only called when the output depends on h) and its VJP rule (adds the output's adjoint, pulled back,
    /// into the inputs' adjoints).
    /// </summary>
    internal abstract class Primitive
    {
        public abstract OpKind Kind { get; }
        public abstract int[] InferShape(Node[] args, double value, int[] ints);
        /// <summary>Leaves and views own no workspace slot and emit no code.</summary>
        public virtual bool OwnsSlot => true;
        public abstract void EmitForward(EmitContext c, Node n);
        public abstract void EmitJvp(EmitContext c, Node n);
        public abstract void EmitVjp(EmitContext c, Node n);

        /// <summary>
        /// Element-wise primitives expose the body of their (b, i) loop so that the emitter can fuse a chain of them
        /// into one pass; others return null and emit their own loops.
        /// </summary>
        /// <summary>Private per-row storage kept after the node's value (group-norm statistics), in every region.</summary>
        public virtual int ExtraPerRow(Node n) => 0;
        /// <summary>Shared scratch: a fixed part (im2col buffers) and a per-row part (temporaries of a backward pass).</summary>
        public virtual int ScratchFixed(Node n) => 0;
        public virtual int ScratchPerRow(Node n) => 0;

        public virtual string[]? ForwardBody(EmitContext c, Node n) => null;
        public virtual string[]? JvpBody(EmitContext c, Node n) => null;
        public virtual string[]? VjpBody(EmitContext c, Node n) => null;

        public static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";
        public static string ShapeText(Node n) => ShapeText(n.Shape.ToArray());
    }

    /// <summary>Inputs of the program: the state, the time, parameters and constants.</summary>
    internal abstract class LeafPrimitive : Primitive
    {
        public override bool OwnsSlot => false;
        public override int[] InferShape(Node[] args, double value, int[] ints) => throw new InvalidOperationException("leaf shapes are set by the parser");
        public override void EmitForward(EmitContext c, Node n) { }
        public override void EmitJvp(EmitContext c, Node n) { }
        public override void EmitVjp(EmitContext c, Node n) { }
    }

    /// <summary>y = F(x) element by element, with F'(x) expressed through x and y.</summary>
    internal abstract class UnaryElementwise : Primitive
    {
        public override int[] InferShape(Node[] args, double value, int[] ints) => args[0].Shape.ToArray();
        protected abstract string Forward(string x, Node n);
        protected abstract string Derivative(string x, string y, Node n);

        /// <summary>
        /// A vectorised whole-batch kernel (OdeDsl.Tensors.Activations) for transcendental functions: scalar
        /// T.Tanh costs ~14 ns per element, the SIMD kernel about a tenth. Used when the input is contiguous;
        /// the node then leaves the fused loop for its forward pass (its JVP and VJP stay fused).
        /// </summary>
        protected virtual string? Kernel => null;

        private bool UsesKernel(EmitContext c, Node n) => Kernel is not null && c.IsContiguous(n.Arg(0));

        public override string[]? ForwardBody(EmitContext c, Node n) =>
            UsesKernel(c, n) ? null : new[] { $"T xv = {c.Val(n.Arg(0), "i")};", $"{c.Val(n.Id, "i")} = {Forward("xv", n)};" };

        public override string[] JvpBody(EmitContext c, Node n) =>
            new[] { $"T xv = {c.Val(n.Arg(0), "i")}, yv = {c.Val(n.Id, "i")};",
                $"{c.Tan(n.Id, "i")} = {Derivative("xv", "yv", n)} * {c.Tan(n.Arg(0), "i")};" };

        public override string[] VjpBody(EmitContext c, Node n)
        {
            var adj = c.Adj(n.Arg(0), "i");
            if (adj is null) return new string[0];
            return new[] { $"T xv = {c.Val(n.Arg(0), "i")}, yv = {c.Val(n.Id, "i")};",
                $"{adj} += {Derivative("xv", "yv", n)} * {c.Adj(n.Id, "i")};" };
        }

        public override void EmitForward(EmitContext c, Node n)
        {
            if (UsesKernel(c, n))
                c.Line($"global::OdeDsl.Tensors.Activations.{Kernel}<T>({c.ValSpan(n.Arg(0))}.Slice(0, batch * {n.Size}), {c.ValSpan(n.Id)}.Slice(0, batch * {n.Size}));");
            else
                c.RowLoop(n.Size, ForwardBody(c, n)!);
        }

        public override void EmitJvp(EmitContext c, Node n) => c.RowLoop(n.Size, JvpBody(c, n));
        public override void EmitVjp(EmitContext c, Node n)
        {
            var body = VjpBody(c, n);
            if (body.Length > 0) c.RowLoop(n.Size, body);
        }
    }

    /// <summary>z = x ∘ y element by element; a scalar operand broadcasts.</summary>
    internal abstract class BinaryElementwise : Primitive
    {
        public override int[] InferShape(Node[] args, double value, int[] ints)
        {
            var a = args[0].Shape.ToArray();
            var b = args[1].Shape.ToArray();
            if (a.SequenceEqual(b)) return a;
            if (args[0].Size == 1 && a.Length == 0) return b;
            if (args[1].Size == 1 && b.Length == 0) return a;
            throw new ShapeError($"`{args[0].Text}` is {ShapeText(a)} but `{args[1].Text}` is {ShapeText(b)}");
        }

        protected abstract string Op { get; }

        public override string[] ForwardBody(EmitContext c, Node n) =>
            new[] { $"{c.Val(n.Id, "i")} = {c.Val(n.Arg(0), c.Bcast(n.Arg(0), n.Size))} {Op} {c.Val(n.Arg(1), c.Bcast(n.Arg(1), n.Size))};" };

        public override void EmitForward(EmitContext c, Node n) => c.RowLoop(n.Size, ForwardBody(c, n));

        /// <summary>(x, y, z, dx or null, dy or null) → dz.</summary>
        protected abstract string Jvp(string x, string y, string z, string? dx, string? dy);
        /// <summary>(x, y, z, g) → contributions to x's and y's adjoints.</summary>
        protected abstract (string Dx, string Dy) Vjp(string x, string y, string z, string g);

        public override string[] JvpBody(EmitContext c, Node n)
        {
            string ix = c.Bcast(n.Arg(0), n.Size), iy = c.Bcast(n.Arg(1), n.Size);
            return new[] { $"{c.Tan(n.Id, "i")} = {Jvp(c.Val(n.Arg(0), ix), c.Val(n.Arg(1), iy), c.Val(n.Id, "i"), c.Tan(n.Arg(0), ix), c.Tan(n.Arg(1), iy))};" };
        }

        public override void EmitJvp(EmitContext c, Node n) => c.RowLoop(n.Size, JvpBody(c, n));

        public override string[] VjpBody(EmitContext c, Node n)
        {
            string ix = c.Bcast(n.Arg(0), n.Size), iy = c.Bcast(n.Arg(1), n.Size);
            var (dx, dy) = Vjp(c.Val(n.Arg(0), ix), c.Val(n.Arg(1), iy), c.Val(n.Id, "i"), "g");
            var ax = c.Adj(n.Arg(0), ix);
            var ay = c.Adj(n.Arg(1), iy);
            if (ax is null && ay is null) return new string[0];
            var body = new System.Collections.Generic.List<string> { $"T g = {c.Adj(n.Id, "i")};" };
            if (ax is not null) body.Add($"{ax} += {dx};");
            if (ay is not null) body.Add($"{ay} += {dy};");
            return body.ToArray();
        }

        public override void EmitVjp(EmitContext c, Node n)
        {
            var body = VjpBody(c, n);
            if (body.Length > 0) c.RowLoop(n.Size, body);
        }
    }
}
