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

        /// <summary>Whether this node's VJP, when its first argument's adjoint is in <see cref="EmitContext.AssignedAdjoints"/>
        /// (this node its only contributor), writes that adjoint whole instead of adding into it: a kernel that writes a
        /// temporary writes the adjoint itself (<see cref="EmitContext.WriteTarget"/>, <see cref="EmitContext.AddInto"/>),
        /// an accumulating kernel is swapped for its writing twin. The slot is then not cleared.</summary>
        public virtual bool WritesFirstArgAdjoint(EmitContext c, Node n) => false;
        public abstract void EmitForward(EmitContext c, Node n);
        public abstract void EmitJvp(EmitContext c, Node n);
        public abstract void EmitVjp(EmitContext c, Node n);

        /// <summary>
        /// The JVP rule as IR, for second derivatives: from the operands' tangents (node ids, <see cref="TangentBuilder.Zero"/>
        /// where identically zero, never all zero) adds the nodes computing this node's tangent and returns its id. Reverse
        /// mode over the graph this builds (<see cref="DivergenceGraph"/>) differentiates the tangent computation itself.
        /// Null: no rule (piecewise derivatives, convolutions), and no divergence VJP for a method using the primitive.
        /// </summary>
        public virtual int? Tangent(TangentBuilder g, Node n, int[] d) => null;

        /// <summary>Private per-row storage kept after the node's value (group-norm statistics), in every region.</summary>
        public virtual int ExtraPerRow(Node n) => 0;
        /// <summary>Shared scratch: a fixed part (im2col buffers) and a per-row part (temporaries of a backward pass).</summary>
        public virtual int ScratchFixed(Node n) => 0;
        public virtual int ScratchPerRow(Node n) => 0;

        /// <summary>
        /// Element-wise primitives expose the body of their (b, i) loop for each pass so that the emitter can fuse a
        /// chain of them into one loop; a pass that is a whole-block call (a GEMM, a SIMD kernel) returns null and
        /// is emitted alone by EmitForward/EmitJvp/EmitVjp.
        /// </summary>
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
        /// Whole-block kernels (OdeDsl.Tensors) used when the input is a contiguous [batch, n] block: one SIMD call over
        /// the batch instead of a scalar loop (scalar T.Tanh costs ~14 ns per element, the kernel about a tenth).
        /// Each returns a statement, or null to stay in the fused scalar loop. Spans: x and y the input and output
        /// values, dx/dy their tangents, g the output's adjoint and ax the input's adjoint accumulator.
        /// </summary>
        protected virtual string? ForwardKernel(string x, string y, Node n) => null;

        /// <summary>F'(x) as IR from the node ids of x and y (null: no IR rule); the tangent is F'(x) ∘ dx.</summary>
        protected virtual int? DerivativeNode(TangentBuilder g, int x, int y, Node n) => null;

        public override int? Tangent(TangentBuilder g, Node n, int[] d) =>
            DerivativeNode(g, n.Arg(0), n.Id, n) is { } k ? g.Times(k, d[0]) : null;

        protected virtual string? JvpKernel(string x, string y, string dx, string dy, Node n) => null;
        protected virtual string? VjpKernel(string x, string y, string g, string ax, Node n) => null;

        /// <summary>The VJP kernel that writes ax (ax = F'(x) ∘ g) instead of adding into it, for a sole contribution; null: none.</summary>
        protected virtual string? VjpWriteKernel(string x, string y, string g, string ax, Node n) => null;

        public override bool WritesFirstArgAdjoint(EmitContext c, Node n) =>
            VjpCall(c, n) is not null && VjpWriteKernel("x", "y", "g", "ax", n) is not null;

        protected const string Tensors = "global::OdeDsl.Tensors.";

        /// <summary>
        /// The OdeDsl.Tensors.BiasActivations method computing F(x + v) for a [batch, n] block x and a bias row v, set
        /// only where this primitive's JVP and VJP read its output and never its input (the kernels above ignore x):
        /// then a bias add feeding only this node need not store its sum (see CSharpEmitter.FindBiasFusions).
        /// </summary>
        public virtual string? BiasKernel => null;

        private string? ForwardCall(EmitContext c, Node n) =>
            EmitContext.WantsKernel(n.Size) && c.ValBlock(n.Arg(0)) is { } x ? ForwardKernel(x, c.ValBlock(n.Id)!, n) : null;

        private string? JvpCall(EmitContext c, Node n) =>
            EmitContext.WantsKernel(n.Size) && c.ValBlock(n.Arg(0)) is { } x && c.TanBlock(n.Arg(0)) is { } dx && c.TanBlock(n.Id) is { } dy
                ? JvpKernel(x, c.ValBlock(n.Id)!, dx, dy, n) : null;

        private string? VjpCall(EmitContext c, Node n) =>
            EmitContext.WantsKernel(n.Size) && c.ValBlock(n.Arg(0)) is { } x && c.AdjBlock(n.Arg(0)) is { } ax
                ? (c.AssignedAdjoints.Contains(n.Arg(0)) ? VjpWriteKernel(x, c.ValBlock(n.Id)!, c.AdjBlock(n.Id)!, ax, n)
                    : VjpKernel(x, c.ValBlock(n.Id)!, c.AdjBlock(n.Id)!, ax, n)) : null;

        public override string[]? ForwardBody(EmitContext c, Node n) =>
            ForwardCall(c, n) is not null ? null : new[] { $"T xv = {c.Val(n.Arg(0), "i")};", $"{c.Val(n.Id, "i")} = {Forward("xv", n)};" };

        public override string[]? JvpBody(EmitContext c, Node n) =>
            JvpCall(c, n) is not null ? null : new[] { $"T xv = {c.Val(n.Arg(0), "i")}, yv = {c.Val(n.Id, "i")};",
                $"{c.Tan(n.Id, "i")} = {Derivative("xv", "yv", n)} * {c.Tan(n.Arg(0), "i")};" };

        public override string[]? VjpBody(EmitContext c, Node n)
        {
            var adj = c.Adj(n.Arg(0), "i");
            if (adj is null) return new string[0];
            if (VjpCall(c, n) is not null) return null;
            return new[] { $"T xv = {c.Val(n.Arg(0), "i")}, yv = {c.Val(n.Id, "i")};",
                $"{adj} += {Derivative("xv", "yv", n)} * {c.Adj(n.Id, "i")};" };
        }

        public override void EmitForward(EmitContext c, Node n)
        {
            if (ForwardCall(c, n) is { } call) c.Line(call);
            else c.RowLoop(n.Size, ForwardBody(c, n)!);
        }

        public override void EmitJvp(EmitContext c, Node n)
        {
            if (JvpCall(c, n) is { } call) c.Line(call);
            else c.RowLoop(n.Size, JvpBody(c, n)!);
        }

        public override void EmitVjp(EmitContext c, Node n)
        {
            if (VjpCall(c, n) is { } call) { c.Line(call); return; }
            var body = VjpBody(c, n)!;
            if (body.Length > 0) c.RowLoop(n.Size, body);
        }
    }

    /// <summary>
    /// z = x ∘ y element by element; a scalar operand broadcasts. When every operand reaches a kernel (see
    /// <see cref="OperandKind"/>) and at least one is a block, each pass is one whole-batch call; the primitive's
    /// file says which calls. Otherwise the pass joins the fused scalar loop.
    /// </summary>
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

        protected const string Kernels = "global::OdeDsl.Tensors.Elementwise.";
        protected const string RowKernels = "global::OdeDsl.Tensors.RowOps.";

        /// <summary>Kernel statements for each pass, or null for the scalar loop. x and y are the operands, z the
        /// output block; dx, dy and dz tangent blocks (null where zero); g the output's adjoint block.</summary>
        protected abstract string[]? ForwardKernel(Operand x, Operand y, string z, Node n);
        protected abstract string[]? JvpKernel(Operand x, Operand y, string z, string? dx, string? dy, string dz, Node n);
        protected abstract string[]? VjpKernel(Operand x, Operand y, string z, string g, Node n);

        /// <summary>The operands when both reach a kernel and one of them is a block, else null.</summary>
        private static (Operand X, Operand Y)? Operands(EmitContext c, Node n)
        {
            if (!EmitContext.WantsKernel(n.Size)) return null;
            var x = c.OperandOf(n.Arg(0), n.Size);
            var y = c.OperandOf(n.Arg(1), n.Size);
            if (x.Kind == OperandKind.Other || y.Kind == OperandKind.Other) return null;
            if (x.Kind != OperandKind.Block && y.Kind != OperandKind.Block) return null;
            return (x, y);
        }

        private string[]? ForwardCall(EmitContext c, Node n) =>
            Operands(c, n) is { } o ? ForwardKernel(o.X, o.Y, c.ValBlock(n.Id)!, n) : null;

        private string[]? JvpCall(EmitContext c, Node n)
        {
            if (Operands(c, n) is not { } o) return null;
            // an operand with a tangent that is not a contiguous block (impossible for rows and scalars) stays scalar
            string? dx = c.TanBlock(n.Arg(0)), dy = c.TanBlock(n.Arg(1));
            if ((dx is null && c.DependsOnState(n.Arg(0))) || (dy is null && c.DependsOnState(n.Arg(1)))) return null;
            return JvpKernel(o.X, o.Y, c.ValBlock(n.Id)!, dx, dy, c.TanBlock(n.Id)!, n);
        }

        private string[]? VjpCall(EmitContext c, Node n) =>
            Operands(c, n) is { } o ? VjpKernel(o.X, o.Y, c.ValBlock(n.Id)!, c.AdjBlock(n.Id)!, n) : null;

        public override string[]? ForwardBody(EmitContext c, Node n) =>
            ForwardCall(c, n) is not null ? null
            : new[] { $"{c.Val(n.Id, "i")} = {c.Val(n.Arg(0), c.Bcast(n.Arg(0), n.Size))} {Op} {c.Val(n.Arg(1), c.Bcast(n.Arg(1), n.Size))};" };

        public override void EmitForward(EmitContext c, Node n)
        {
            if (ForwardCall(c, n) is { } calls) foreach (var line in calls) c.Line(line);
            else c.RowLoop(n.Size, ForwardBody(c, n)!);
        }

        /// <summary>(x, y, z, dx or null, dy or null) → dz.</summary>
        protected abstract string Jvp(string x, string y, string z, string? dx, string? dy);
        /// <summary>(x, y, z, g) → contributions to x's and y's adjoints.</summary>
        protected abstract (string Dx, string Dy) Vjp(string x, string y, string z, string g);

        public override string[]? JvpBody(EmitContext c, Node n)
        {
            if (JvpCall(c, n) is not null) return null;
            string ix = c.Bcast(n.Arg(0), n.Size), iy = c.Bcast(n.Arg(1), n.Size);
            return new[] { $"{c.Tan(n.Id, "i")} = {Jvp(c.Val(n.Arg(0), ix), c.Val(n.Arg(1), iy), c.Val(n.Id, "i"), c.Tan(n.Arg(0), ix), c.Tan(n.Arg(1), iy))};" };
        }

        public override void EmitJvp(EmitContext c, Node n)
        {
            if (JvpCall(c, n) is { } calls) foreach (var line in calls) c.Line(line);
            else c.RowLoop(n.Size, JvpBody(c, n)!);
        }

        public override string[]? VjpBody(EmitContext c, Node n)
        {
            string ix = c.Bcast(n.Arg(0), n.Size), iy = c.Bcast(n.Arg(1), n.Size);
            var ax = c.Adj(n.Arg(0), ix);
            var ay = c.Adj(n.Arg(1), iy);
            if (ax is null && ay is null) return new string[0];
            if (VjpCall(c, n) is not null) return null;
            var (dx, dy) = Vjp(c.Val(n.Arg(0), ix), c.Val(n.Arg(1), iy), c.Val(n.Id, "i"), "g");
            var body = new System.Collections.Generic.List<string> { $"T g = {c.Adj(n.Id, "i")};" };
            if (ax is not null) body.Add($"{ax} += {dx};");
            if (ay is not null) body.Add($"{ay} += {dy};");
            return body.ToArray();
        }

        public override void EmitVjp(EmitContext c, Node n)
        {
            if (VjpCall(c, n) is { } calls) { foreach (var line in calls) c.Line(line); return; }
            var body = VjpBody(c, n)!;
            if (body.Length > 0) c.RowLoop(n.Size, body);
        }
    }
}
