using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using OdeDsl.Generators.Ir;
using OdeDsl.Generators.Primitives;

namespace OdeDsl.Generators.Emit
{
    /// <summary>
    /// Writes the nested dynamics type. Values live in the caller's workspace, one [batch, size] slot per SSA node
    /// that owns storage (the forward region), followed by a region of the same size for adjoints (VJP) or tangents
    /// (JVP, divergence), then one [batch, StateSize] seed for the divergence's basis tangents.
    /// Dead nodes (not reaching the output) get no slot and no code.
    /// </summary>
    internal sealed class CSharpEmitter
    {
        private const string Constraint = "where T : unmanaged, global::System.Numerics.IFloatingPointIeee754<T>";
        private readonly DynamicsSpec _spec;
        private readonly Node[] _nodes;
        private readonly bool[] _live;
        private readonly bool[] _dependsOnState;
        private readonly Loc[] _locs;
        private readonly int[] _slot;
        private readonly int _slotTotal;
        private readonly int _scratchFixed;
        private readonly int _scratchPerRow;
        private readonly StringBuilder _sb;
        /// <summary>Activation id → the bias add it absorbs (its block and row operands); those adds' sums are never stored.</summary>
        private readonly Dictionary<int, (int Add, int Block, int Row)> _biasFusion = new();
        private readonly HashSet<int> _fusedAdds = new();

        private CSharpEmitter(DynamicsSpec spec, StringBuilder? sb = null)
        {
            _spec = spec;
            _sb = sb ?? new StringBuilder();
            _nodes = spec.Nodes.ToArray();
            int count = _nodes.Length;
            _live = new bool[count];
            _live[spec.Output] = true;
            for (int id = count - 1; id >= 0; id--)
                if (_live[id]) foreach (int a in _nodes[id].Args) _live[a] = true;
            _dependsOnState = new bool[count];
            _locs = new Loc[count];
            _slot = new int[count];
            int total = 0;
            foreach (var n in _nodes)
            {
                _dependsOnState[n.Id] = n.Op == OpKind.State || n.Args.Any(a => _dependsOnState[a]);
                switch (n.Op)
                {
                    case OpKind.State: _locs[n.Id] = new Loc(Buffer.State, n.Id, spec.StateSize, 0); break;
                    case OpKind.Time: _locs[n.Id] = new Loc(Buffer.Time, n.Id, 1, 0); break;
                    case OpKind.Param: _locs[n.Id] = new Loc(Buffer.Theta, n.Id, 0, spec.Params[n.Ints[0]].Offset); break;
                    case OpKind.Const: _locs[n.Id] = new Loc(Buffer.Const, n.Id, 0, 0); break;
                    case OpKind.Slice: _locs[n.Id] = _locs[n.Args[0]].Shift(n.Ints[0]); break;
                    default:
                        _locs[n.Id] = new Loc(Buffer.Work, n.Id, n.Size, 0);
                        if (_live[n.Id])
                        {
                            var prim = PrimitiveTable.Get(n.Op);
                            _slot[n.Id] = total;
                            total += n.Size + prim.ExtraPerRow(n);
                            _scratchFixed = System.Math.Max(_scratchFixed, prim.ScratchFixed(n));
                            _scratchPerRow = System.Math.Max(_scratchPerRow, prim.ScratchPerRow(n));
                        }
                        break;
                }
            }
            _slotTotal = total;
            FindBiasFusions();
        }

        /// <summary>
        /// Bias add + activation fusion: an Add of a contiguous [batch, n] block and a θ row vector (what
        /// RowOps.AddRowVector is emitted for) whose only use is an activation with a <see cref="UnaryElementwise.BiasKernel"/>
        /// (its JVP and VJP read its output, never its input), and which is not the output, is computed inside that
        /// activation's forward call (BiasActivations) instead of being stored. Nothing else reads the sum: the Add's own
        /// JVP and VJP do not read its value, so its tangent and adjoint (and the bias gradient's column sums) are
        /// emitted as before. The Add keeps its slot; only its forward value goes unwritten.
        /// </summary>
        private void FindBiasFusions()
        {
            var uses = new int[_nodes.Length];
            foreach (var n in _nodes)
                if (_live[n.Id]) foreach (int a in n.Args) uses[a]++;
            var probe = new EmitContext(new StringBuilder(), _nodes, _locs, _dependsOnState, 0);
            foreach (var act in _nodes)
            {
                if (!_live[act.Id] || !EmitContext.WantsKernel(act.Size) || PrimitiveTable.Get(act.Op) is not UnaryElementwise { BiasKernel: not null })
                    continue;
                var add = _nodes[act.Arg(0)];
                if (add.Op != OpKind.Add || uses[add.Id] != 1 || add.Id == _spec.Output || add.Size != act.Size) continue;
                int block = add.Arg(0), row = add.Arg(1);
                if (probe.OperandOf(block, add.Size).Kind == OperandKind.Row) (block, row) = (row, block);
                if (probe.OperandOf(block, add.Size).Kind != OperandKind.Block || probe.OperandOf(row, add.Size).Kind != OperandKind.Row) continue;
                _biasFusion[act.Id] = (add.Id, block, row);
                _fusedAdds.Add(add.Id);
            }
        }

        /// <summary>A fused activation's forward call (its own comment line is already written).</summary>
        private void EmitBiasActivation(EmitContext c, Node act)
        {
            var (addId, block, row) = _biasFusion[act.Id];
            var add = _nodes[addId];
            var kernel = ((UnaryElementwise)PrimitiveTable.Get(act.Op)).BiasKernel;
            c.Line($"//   with v{addId} = Add({string.Join(", ", add.Args.Select(a => "v" + a))}) fused in: v{addId} is not stored, {act.Op}'s derivative reads only v{act.Id}");
            c.Line($"global::OdeDsl.Tensors.BiasActivations.{kernel}<T>(batch, {act.Size}, {c.OperandOf(block, act.Size).Value}, {c.OperandOf(row, act.Size).Value}, {c.ValBlock(act.Id)});");
        }

        public static string Emit(DynamicsSpec spec) => new CSharpEmitter(spec).Run();

        private IEnumerable<Node> LiveSlots => _nodes.Where(n => _live[n.Id] && PrimitiveTable.Get(n.Op).OwnsSlot);

        private string Run()
        {
            var s = _spec;
            _sb.Append("// <auto-generated/> by OdeDsl.Generators from ").Append(string.Join(".", s.Types.Select(t => t.Name))).Append('.').Append(s.MethodName).Append('\n');
            _sb.Append("#nullable enable\n");
            int indent = 0;
            if (s.Namespace.Length > 0)
            {
                _sb.Append("namespace ").Append(s.Namespace).Append("\n{\n");
                indent++;
            }
            foreach (var t in s.Types)
            {
                Line(indent, $"{(t.IsStatic ? "static " : "")}partial {t.Keyword} {t.Name}");
                Line(indent++, "{");
            }
            if (s.EmitParametersProperty)
            {
                Line(indent, "/// <summary>The layout of θ for <see cref=\"" + s.NestedName + "\"/>: names, shapes, offsets, initialisers.</summary>");
                Line(indent, $"public static global::OdeDsl.ParameterLayout Parameters => {s.NestedName}.Layout;");
                Line(indent, "");
            }
            if (s.IsFunction)
            {
                Line(indent, $"/// <summary>Generated from [Differentiable] <c>{s.MethodName}</c>: batched forward, VJP (w.r.t. x and θ) and JVP (w.r.t. x).</summary>");
                Line(indent, $"public sealed class {s.NestedName}");
                Line(indent++, "{");
                FunctionMembers(indent);
            }
            else
            {
                // the second-order programs: both exist or neither (same tangent rules, same state condition)
                var divergence = DivergenceGraph.Build(s);
                var directional = divergence is null ? null : DivergenceGraph.BuildDirectional(s);
                if (directional is null) divergence = null;
                Line(indent, $"/// <summary>Generated from <c>{s.MethodName}</c>: batched evaluation, VJP (also fused with the evaluation), JVP and exact divergence{(divergence is null ? "" : ", and the reverse mode of the divergence and of the JVP along a direction")}.</summary>");
                Line(indent, $"public sealed class {s.NestedName} : global::OdeDsl.IOdeDynamics<{s.NestedName}>{(divergence is null ? "" : $", global::OdeDsl.IDivergenceVjpDynamics<{s.NestedName}>")}");
                Line(indent++, "{");
                Members(indent);
                if (divergence is not null)
                {
                    new CSharpEmitter(divergence, _sb).DerivedMembers(indent, divergence: true);
                    new CSharpEmitter(directional!, _sb).DerivedMembers(indent, divergence: false);
                }
            }
            Line(--indent, "}");
            foreach (var _ in s.Types) Line(--indent, "}");
            if (s.Namespace.Length > 0) _sb.Append("}\n");
            return _sb.ToString();
        }

        private void Line(int indent, string text) => _sb.Append(' ', indent * 4).Append(text).Append('\n');

        private static string Ints(IEnumerable<int> xs) => string.Join(", ", xs);

        private void Members(int indent)
        {
            var s = _spec;
            int n = s.StateSize;
            Line(indent, $"private {s.NestedName}() {{ }}");
            Line(indent, "");
            Line(indent, $"public static int StateSize => {n};");
            Line(indent, $"public static global::System.ReadOnlySpan<int> StateShape => new int[] {{ {Ints(s.StateShape)} }};");
            LayoutMembers(indent);
            Line(indent, "");
            Line(indent, $"/// <summary>{_slotTotal} forward and {_slotTotal} adjoint/tangent values per row, plus a {n}-element divergence seed.</summary>");
            WorkspaceMember(indent);
            DynamicsMethods(indent);
        }

        private void WorkspaceMember(int indent) =>
            Line(indent, $"public static int WorkspaceLength(int batch) => batch * {2 * _slotTotal + _spec.StateSize + _scratchPerRow}{(_scratchFixed > 0 ? " + " + _scratchFixed : "")};");

        private void FunctionMembers(int indent)
        {
            var s = _spec;
            var output = _nodes[s.Output];
            int n = s.StateSize, m = output.Size;
            Line(indent, $"private {s.NestedName}() {{ }}");
            Line(indent, "");
            Line(indent, $"public static int InputSize => {n};");
            Line(indent, $"public static global::System.ReadOnlySpan<int> InputShape => new int[] {{ {Ints(s.StateShape)} }};");
            Line(indent, $"public static int OutputSize => {m};");
            Line(indent, $"public static global::System.ReadOnlySpan<int> OutputShape => new int[] {{ {Ints(output.Shape)} }};");
            LayoutMembers(indent);
            WorkspaceMember(indent);

            FunctionMethod(indent, "Forward", "global::System.Span<T> y, int batch, global::System.Span<T> workspace", new[] { ("y", m) }, c =>
            {
                Forward(c);
                CopyOut(c, "y", c.ValBlock, id => c.Val(id, "i"));
            });

            FunctionMethod(indent, "VectorJacobianProduct",
                "global::System.ReadOnlySpan<T> cotangent, global::System.Span<T> gradX, global::System.Span<T> gradTheta, int batch, global::System.Span<T> workspace",
                new[] { ("cotangent", m), ("gradX", n) }, c =>
                Vjp(c, m, copyValue: null, $"gradX.Slice(0, batch * {n}).Clear();"));

            // The reverse sweep alone, for a caller that ran Forward on the same x, θ, batch and workspace and left the
            // workspace alone since: its forward region already holds every value the sweep reads (Forward and the VJP
            // emit the same forward sweep into the same slots). A training step then pays the forward pass once; the
            // MNIST downsampling's VJP recomputed its three convolutions (docs/performance.md, "MNIST step on two cores").
            FunctionMethod(indent, "VectorJacobianProductAfterForward",
                "global::System.ReadOnlySpan<T> cotangent, global::System.Span<T> gradX, global::System.Span<T> gradTheta, int batch, global::System.Span<T> workspace",
                new[] { ("cotangent", m), ("gradX", n) }, c =>
            {
                c.Line("global::OdeDsl.DynamicsGuard.Length(gradTheta.Length, ParameterCount, nameof(gradTheta));");
                Reverse(c, m, new[] { $"gradX.Slice(0, batch * {n}).Clear();" });
            });

            FunctionMethod(indent, "JacobianVectorProduct",
                "global::System.ReadOnlySpan<T> tangent, global::System.Span<T> y, global::System.Span<T> jvp, int batch, global::System.Span<T> workspace",
                new[] { ("tangent", n), ("y", m), ("jvp", m) }, c =>
            {
                Forward(c);
                CopyOut(c, "y", c.ValBlock, id => c.Val(id, "i"));
                Tangents(c);
                CopyOut(c, "jvp", c.TanBlock, id => c.Tan(id, "i") ?? "T.Zero");
            });
        }

        private void FunctionMethod(int indent, string name, string tail, (string Name, int Row)[] rows, System.Action<EmitContext> body)
        {
            Line(indent, "");
            Line(indent, $"public static void {name}<T>(global::System.ReadOnlySpan<T> x, global::System.ReadOnlySpan<T> theta, {tail})");
            Line(indent + 1, Constraint);
            Line(indent, "{");
            var c = new EmitContext(_sb, _nodes, _locs, _dependsOnState, indent + 1) { ScratchFixedLength = _scratchFixed, InputName = "x", InputGradName = "gradX" };
            c.Line($"global::OdeDsl.DynamicsGuard.Rows(x.Length, batch, {_spec.StateSize}, nameof(x));");
            Prologue(c, rows);
            body(c);
            Line(indent, "}");
        }

        private void LayoutMembers(int indent)
        {
            var s = _spec;
            Line(indent, $"public static int ParameterCount => {s.Params.Sum(p => p.Length)};");
            Line(indent, "public static global::OdeDsl.ParameterLayout Layout { get; } = new global::OdeDsl.ParameterLayout(");
            for (int i = 0; i < s.Params.Count; i++)
            {
                var p = s.Params[i];
                string init = p.InitKind switch
                {
                    "FanIn" => $"global::OdeDsl.ParameterInit.FanIn({(int)p.Scale})",
                    "Zeros" => "global::OdeDsl.ParameterInit.Zeros",
                    "Ones" => "global::OdeDsl.ParameterInit.Ones",
                    "Uniform" => $"global::OdeDsl.ParameterInit.Uniform({p.Scale.ToString("R", CultureInfo.InvariantCulture)})",
                    _ => $"global::OdeDsl.ParameterInit.Normal({p.Scale.ToString("R", CultureInfo.InvariantCulture)})",
                };
                Line(indent + 1, $"new global::OdeDsl.ParameterInfo(\"{p.Name}\", new int[] {{ {Ints(p.Shape)} }}, {p.Offset}, {init}){(i + 1 < s.Params.Count ? "," : "")}");
            }
            Line(indent, ");");
        }

        private void DynamicsMethods(int indent)
        {
            var s = _spec;
            int n = s.StateSize;

            Method(indent, "Evaluate", "global::System.Span<T> dh, int batch, global::System.Span<T> workspace", new[] { ("dh", n) }, c =>
            {
                Forward(c);
                CopyOut(c, "dh", c.ValBlock, id => c.Val(id, "i"));
            });

            Method(indent, "VectorJacobianProduct",
                "global::System.ReadOnlySpan<T> cotangent, global::System.Span<T> gradH, global::System.Span<T> gradTheta, global::System.Span<T> gradT, int batch, global::System.Span<T> workspace",
                new[] { ("cotangent", n), ("gradH", n), ("gradT", 1) }, c =>
                Vjp(c, n, copyValue: null, $"gradH.Slice(0, batch * {n}).Clear();", "gradT.Slice(0, batch).Clear();"));

            // the adjoint's augmented evaluation: the VJP's forward sweep already computes f, so dh costs one copy
            Method(indent, "EvaluateAndVectorJacobianProduct",
                "global::System.ReadOnlySpan<T> cotangent, global::System.Span<T> dh, global::System.Span<T> gradH, global::System.Span<T> gradTheta, global::System.Span<T> gradT, int batch, global::System.Span<T> workspace",
                new[] { ("cotangent", n), ("dh", n), ("gradH", n), ("gradT", 1) }, c =>
                Vjp(c, n, copyValue: () =>
                {
                    c.Line("// dh = f, as Evaluate writes it, before the reverse sweep");
                    CopyOut(c, "dh", c.ValBlock, id => c.Val(id, "i"));
                }, $"gradH.Slice(0, batch * {n}).Clear();", "gradT.Slice(0, batch).Clear();"));

            Method(indent, "JacobianVectorProduct",
                "global::System.ReadOnlySpan<T> tangent, global::System.Span<T> dh, global::System.Span<T> jvp, int batch, global::System.Span<T> workspace",
                new[] { ("tangent", n), ("dh", n), ("jvp", n) }, c =>
            {
                Forward(c);
                CopyOut(c, "dh", c.ValBlock, id => c.Val(id, "i"));
                Tangents(c);
                CopyOut(c, "jvp", c.TanBlock, id => c.Tan(id, "i") ?? "T.Zero");
            });

            Method(indent, "EvaluateWithDivergence",
                "global::System.Span<T> dh, global::System.Span<T> divergence, int batch, global::System.Span<T> workspace",
                new[] { ("dh", n), ("divergence", 1) }, c =>
            {
                Forward(c);
                CopyOut(c, "dh", c.ValBlock, id => c.Val(id, "i"));
                c.Line("divergence.Slice(0, batch).Clear();");
                if (c.Tan(s.Output, "col") is null) return;
                c.Line("// exact trace: one forward-mode sweep per basis tangent e_col, fused after the evaluation");
                c.Line($"var tangent = ws.Slice(batch * {2 * _slotTotal}, batch * {n});");
                c.Open($"for (int col = 0; col < {n}; col++)");
                c.Line("tangent.Clear();");
                c.Line($"for (int b = 0; b < batch; b++) tangent[b * {n} + col] = T.One;");
                Tangents(c);
                c.Line($"for (int b = 0; b < batch; b++) divergence[b] += {c.Tan(s.Output, "col")};");
                c.Close();
            });
        }

        /// <summary>
        /// Emitted by an emitter over a derived program of <see cref="DivergenceGraph"/> whose output is [f, second] per row
        /// (second: the divergence, 1 value, or the JVP along the direction in the state's second half, d values): its
        /// workspace length, the forward sweep keeping its values (with f and second copied out), the reverse sweep reading
        /// them, and (for the divergence) both fused. The cotangents of f and second are gathered into one
        /// [batch, d + size] block after the program's workspace, which the reverse sweep reads as the output's adjoint.
        /// </summary>
        private void DerivedMembers(int indent, bool divergence)
        {
            int m = _nodes[_spec.Output].Size, second = divergence ? 1 : m / 2, n = m - second;
            string secondName = divergence ? "divergence" : "jvp", cotSecond = divergence ? "cotangentDivergence" : "cotangentJvp";
            string wsName = divergence ? "DivergenceWorkspaceLength" : "DirectionalWorkspaceLength";
            string scratch = $"{2 * _slotTotal + _spec.StateSize + _scratchPerRow}";
            string fixedPart = _scratchFixed > 0 ? " + " + _scratchFixed : "";
            Line(indent, "");
            Line(indent, divergence
                ? $"/// <summary>Scratch of the divergence VJP: {_slotTotal} values and {_slotTotal} adjoints per row for f and its {n} tangent sweeps, and the gathered cotangents.</summary>"
                : $"/// <summary>Scratch of the directional methods (h = [z, v], 2·{n} per row): {_slotTotal} values and {_slotTotal} adjoints per row for f and (∂f/∂z)·v, and the gathered cotangents.</summary>");
            Line(indent, $"public static int {wsName}(int batch) => batch * {2 * _slotTotal + _spec.StateSize + _scratchPerRow + m}{fixedPart};");
            string cotangents = $"global::System.ReadOnlySpan<T> cotangentDh, global::System.ReadOnlySpan<T> {cotSecond}";
            string gradients = "global::System.Span<T> gradH, global::System.Span<T> gradTheta, global::System.Span<T> gradT, int batch, global::System.Span<T> workspace";
            var cotRows = new[] { ("cotangentDh", n), (cotSecond, second) };
            var gradRows = new[] { ("gradH", _spec.StateSize), ("gradT", 1) };
            var valueRows = new[] { ("dh", n), (secondName, second) };
            string[] clears = { $"gradH.Slice(0, batch * {_spec.StateSize}).Clear();", "gradT.Slice(0, batch).Clear();" };
            void Gather(EmitContext c)
            {
                c.Line($"// the reverse sweep's cotangent of the output [f, {secondName}]: [cotangentDh, {cotSecond}] per row");
                c.Line($"var cotangent = ws.Slice(batch * {scratch}{fixedPart}, batch * {m});");
                c.Open("for (int b = 0; b < batch; b++)");
                c.Line($"cotangentDh.Slice(b * {n}, {n}).CopyTo(cotangent.Slice(b * {m}, {n}));");
                c.Line($"{cotSecond}.Slice(b * {second}, {second}).CopyTo(cotangent.Slice(b * {m} + {n}, {second}));");
                c.Close();
            }
            void CopyValue(EmitContext c)
            {
                c.Line($"// dh = f and {secondName}, before the reverse sweep");
                c.RowLoop(n, $"dh[b * {n} + i] = {c.Val(_spec.Output, "i")};");
                c.RowLoop(second, $"{secondName}[b * {second} + i] = {c.Val(_spec.Output, n + " + i")};");
            }
            if (divergence)
                Method(indent, "EvaluateWithDivergenceAndVectorJacobianProduct",
                    $"{cotangents}, global::System.Span<T> dh, global::System.Span<T> divergence, {gradients}",
                    cotRows.Concat(valueRows).Concat(gradRows).ToArray(), c =>
                {
                    Gather(c);
                    Vjp(c, m, copyValue: () => CopyValue(c), clears);
                }, wsName);
            // split in two for callers that evaluate first and differentiate later (a CNF field's Forward/Backward)
            string forwardName = divergence ? "EvaluateWithDivergenceForReverse" : "DirectionalForward";
            Method(indent, forwardName, $"global::System.Span<T> dh, global::System.Span<T> {secondName}, int batch, global::System.Span<T> workspace",
                valueRows, c =>
            {
                Forward(c);
                CopyValue(c);
            }, wsName);
            Method(indent, divergence ? "DivergenceVectorJacobianProduct" : "DirectionalVectorJacobianProduct", $"{cotangents}, {gradients}",
                cotRows.Concat(gradRows).ToArray(), c =>
            {
                c.Line($"// the forward values are those {forwardName} left in the workspace (same t, h, θ)");
                Gather(c);
                c.Line("global::OdeDsl.DynamicsGuard.Length(gradTheta.Length, ParameterCount, nameof(gradTheta));");
                Reverse(c, m, clears);
            }, wsName);
        }

        /// <summary>
        /// A VJP body: the forward sweep; then <paramref name="copyValue"/>, if set, which copies the output value out
        /// (exactly as Evaluate copies it, before the reverse sweep, which writes the workspace); then the reverse sweep
        /// from the cotangent (<paramref name="m"/> values per row), after the <paramref name="clears"/> of the input and
        /// time gradients.
        /// </summary>
        private void Vjp(EmitContext c, int m, System.Action? copyValue, params string[] clears)
        {
            c.Line("global::OdeDsl.DynamicsGuard.Length(gradTheta.Length, ParameterCount, nameof(gradTheta));");
            Forward(c);
            copyValue?.Invoke();
            Reverse(c, m, clears);
        }

        /// <summary>The reverse sweep of a VJP body, reading the forward values in the workspace.</summary>
        private void Reverse(EmitContext c, int m, string[] clears)
        {
            // nothing after the output adds to its adjoint: where it can, the sweep reads the cotangent in place as that
            // adjoint, and only the slots before the output's are cleared
            bool inPlace = CotangentIsOutputAdjoint;
            c.Line(inPlace ? "// reverse sweep: adjoints start at zero (the output's is the cotangent), gradTheta accumulates over rows and calls"
                : "// reverse sweep: adjoints start at zero, gradTheta accumulates over rows and calls");
            int cleared = inPlace ? _slot[_spec.Output] : _slotTotal;
            var assigned = AssignedAdjoints(c);
            ClearAdjoints(c, cleared, assigned);
            // the input gradient is written, not cleared, when the state's one consumer writes it whole
            bool stateAssigned = _nodes.Any(n => n.Op == OpKind.State && assigned.Contains(n.Id));
            foreach (var line in clears)
                if (!(stateAssigned && line.StartsWith(c.InputGradName + ".Slice(0, ", System.StringComparison.Ordinal))) c.Line(line);
            if (inPlace) c.CotangentOwner = _spec.Output;
            else Seed(c, m);
            c.AssignedAdjoints = assigned;
            EmitFused(c, LiveSlots.Reverse().ToList(), (p, node) => p.VjpBody(c, node), (p, node) => p.EmitVjp(c, node));
            c.AssignedAdjoints = new HashSet<int>();
            c.CotangentOwner = -1;
        }

        /// <summary>
        /// Nodes whose adjoint has exactly one contribution and that one from a kernel that writes it whole
        /// (<see cref="Primitive.WritesFirstArgAdjoint"/>: Conv2d's, GroupNorm's and AvgPool's input gradients, the
        /// block kernels of Relu's VJP, ConcatChannel's first part): that kernel writes straight into the adjoint's slot,
        /// which is then neither cleared nor added into (the downsampling VJP of the MNIST example cleared 83 MB and added
        /// three 22 MB temporaries per call). The node must own its slot whole (no Slice view of it, not the output) or be
        /// the whole state (then the input gradient is written instead of cleared), and appear once among the arguments of
        /// the live nodes.
        /// </summary>
        private HashSet<int> AssignedAdjoints(EmitContext c)
        {
            var uses = new int[_nodes.Length];
            var consumer = new int[_nodes.Length];
            var viewed = new bool[_nodes.Length];
            foreach (var n in _nodes)
            {
                if (!_live[n.Id]) continue;
                foreach (int a in n.Args) { uses[a]++; consumer[a] = n.Id; }
                if (_locs[n.Id].Owner != n.Id) viewed[_locs[n.Id].Owner] = true;
            }
            var assigned = new HashSet<int>();
            foreach (var x in LiveSlots.Concat(_nodes.Where(n => n.Op == OpKind.State && _live[n.Id])))
            {
                var l = _locs[x.Id];
                bool whole = l.Buffer == Buffer.Work ? l.Owner == x.Id && l.Off == 0 && l.RowStride == x.Size
                    : l.Buffer == Buffer.State && l.Off == 0 && x.Size == _spec.StateSize;
                if (!whole || x.Id == _spec.Output || uses[x.Id] != 1 || viewed[x.Id] || _fusedAdds.Contains(x.Id)) continue;
                var user = _nodes[consumer[x.Id]];
                if (user.Args[0] == x.Id && !_biasFusion.ContainsKey(user.Id) && PrimitiveTable.Get(user.Op).WritesFirstArgAdjoint(c, user))
                    assigned.Add(x.Id);
            }
            return assigned;
        }

        /// <summary>Clears the adjoint slots [0, <paramref name="cleared"/>) (per row, in slot order) but the assigned ones,
        /// one Clear per run of consecutive slots.</summary>
        private void ClearAdjoints(EmitContext c, int cleared, HashSet<int> assigned)
        {
            int start = 0;
            foreach (var x in _nodes.Where(n => _live[n.Id] && _locs[n.Id].Buffer == Buffer.Work && _locs[n.Id].Owner == n.Id).OrderBy(n => _slot[n.Id]))
            {
                if (_slot[x.Id] >= cleared || !assigned.Contains(x.Id)) continue;
                if (_slot[x.Id] > start) c.Line($"ws.Slice(batch * {_slotTotal + start}, batch * {_slot[x.Id] - start}).Clear();");
                start = _slot[x.Id] + x.Size + PrimitiveTable.Get(x.Op).ExtraPerRow(x);
            }
            if (cleared > start) c.Line($"ws.Slice(batch * {_slotTotal + start}, batch * {cleared - start}).Clear();");
        }

        /// <summary>
        /// Whether the output owns a contiguous [batch, m] slot, the last one: then its adjoint, which only the cotangent
        /// feeds, can be the cotangent itself (no cleared slot, no add), and the adjoints to clear are the slots before it.
        /// </summary>
        private bool CotangentIsOutputAdjoint
        {
            get
            {
                int o = _spec.Output;
                var l = _locs[o];
                return l.Buffer == Buffer.Work && l.Owner == o && l.Off == 0 && l.RowStride == _nodes[o].Size
                    && LiveSlots.All(x => x.Id == o || _slot[x.Id] < _slot[o]);
            }
        }

        private void Method(int indent, string name, string tail, (string Name, int Row)[] rows, System.Action<EmitContext> body,
            string workspaceMember = "WorkspaceLength")
        {
            Line(indent, "");
            Line(indent, $"public static void {name}<T>(global::System.ReadOnlySpan<T> t, global::System.ReadOnlySpan<T> h, global::System.ReadOnlySpan<T> theta, {tail})");
            Line(indent + 1, Constraint);
            Line(indent, "{");
            var c = new EmitContext(_sb, _nodes, _locs, _dependsOnState, indent + 1) { ScratchFixedLength = _scratchFixed };
            c.Line("global::OdeDsl.DynamicsGuard.Rows(t.Length, batch, 1, nameof(t));");
            c.Line($"global::OdeDsl.DynamicsGuard.Rows(h.Length, batch, {_spec.StateSize}, nameof(h));");
            Prologue(c, rows, workspaceMember);
            body(c);
            Line(indent, "}");
        }

        private void Prologue(EmitContext c, (string Name, int Row)[] rows, string workspaceMember = "WorkspaceLength")
        {
            c.Line("global::OdeDsl.DynamicsGuard.Length(theta.Length, ParameterCount, nameof(theta));");
            foreach (var (n, r) in rows) c.Line($"global::OdeDsl.DynamicsGuard.Rows({n}.Length, batch, {r}, nameof({n}));");
            c.Line($"global::OdeDsl.DynamicsGuard.Length(workspace.Length, {workspaceMember}(batch), nameof(workspace));");
            c.Line("var ws = workspace;");
            if (_scratchFixed + _scratchPerRow > 0)
                c.Line($"var scratch = ws.Slice(batch * {2 * _slotTotal + _spec.StateSize}, {_scratchFixed} + batch * {_scratchPerRow});");
            foreach (var node in LiveSlots)
                c.Line($"int f{node.Id} = batch * {_slot[node.Id]}, a{node.Id} = batch * {_slotTotal + _slot[node.Id]}, d{node.Id} = a{node.Id};");
            foreach (var node in _nodes.Where(x => _live[x.Id] && x.Op == OpKind.Const))
                c.Line($"T k{node.Id} = {EmitContext.Literal(node.Value)};");
        }

        private static void Comment(EmitContext c, Node node) =>
            c.Line($"// v{node.Id} = {node.Op}({string.Join(", ", node.Args.Select(a => "v" + a))}) {Primitive.ShapeText(node)}   {node.Text.Replace("\n", " ").Replace("\r", "")}");

        // fused bias adds emit nothing here; their activation emits both (EmitBiasActivation)
        private void Forward(EmitContext c) =>
            EmitFused(c, LiveSlots.Where(x => !_fusedAdds.Contains(x.Id)).ToList(),
                (p, n) => _biasFusion.ContainsKey(n.Id) ? null : p.ForwardBody(c, n),
                (p, n) =>
                {
                    if (_biasFusion.ContainsKey(n.Id)) EmitBiasActivation(c, n);
                    else p.EmitForward(c, n);
                });

        private void Tangents(EmitContext c) =>
            EmitFused(c, LiveSlots.Where(x => _dependsOnState[x.Id]).ToList(), (p, n) => p.JvpBody(c, n), (p, n) => p.EmitJvp(c, n));

        /// <summary>
        /// Emits <paramref name="order"/>. A node whose pass is a whole-block kernel call (its body is null: GEMM,
        /// SIMD element-wise kernels) is emitted alone; runs of consecutive scalar-loop element-wise nodes of one size
        /// are fused into a single (b, i) loop. Safe because inside a run every node touches only element i of its run-mates (same size, no
        /// broadcast between them); a node reading a view (offset) of a run-mate starts a new run.
        /// </summary>
        private void EmitFused(EmitContext c, List<Node> order, System.Func<Primitive, Node, string[]?> body, System.Action<Primitive, Node> alone)
        {
            int k = 0;
            while (k < order.Count)
            {
                var first = order[k];
                var p = PrimitiveTable.Get(first.Op);
                if (body(p, first) is null)
                {
                    Comment(c, first);
                    alone(p, first);
                    k++;
                    continue;
                }
                var run = new List<Node> { first };
                var members = new HashSet<int> { first.Id };
                while (k + run.Count < order.Count)
                {
                    var next = order[k + run.Count];
                    var np = PrimitiveTable.Get(next.Op);
                    if (body(np, next) is null || next.Size != first.Size || !Fusable(next, members) || !run.All(r => Fusable(r, new HashSet<int> { next.Id })))
                        break;
                    run.Add(next);
                    members.Add(next.Id);
                }
                foreach (var n in run) Comment(c, n);
                var lines = new List<string>();
                foreach (var n in run)
                {
                    var b = body(PrimitiveTable.Get(n.Op), n);
                    if (b is null || b.Length == 0) continue;
                    if (run.Count == 1) lines.AddRange(b);
                    else
                    {
                        lines.Add("{");
                        lines.AddRange(b.Select(l => "    " + l));
                        lines.Add("}");
                    }
                }
                if (lines.Count > 0) c.RowLoop(first.Size, lines.ToArray());
                k += run.Count;
            }
        }

        /// <summary>A node may join a run if it reads run members only directly (never through a view at an offset).</summary>
        private bool Fusable(Node n, HashSet<int> members) =>
            n.Args.All(a => members.Contains(a) || !members.Contains(_locs[a].Owner) || _locs[a].Buffer != Buffer.Work);

        // the output has the state's size (ODE0005 guarantees it), so element i of row b maps one to one
        private void CopyOut(EmitContext c, string target, System.Func<int, string?> block, System.Func<int, string> element)
        {
            int m = _nodes[_spec.Output].Size;
            if (block(_spec.Output) is { } whole) c.Line($"{whole}.CopyTo({target});");
            else if (!_dependsOnState[_spec.Output] && target == "jvp") c.Line($"{target}.Slice(0, batch * {m}).Clear();");
            else c.RowLoop(m, $"{target}[b * {m} + i] = {element(_spec.Output)};");
        }

        /// <summary>The reverse sweep starts from the cotangent, added into the output's (cleared) adjoint.</summary>
        private void Seed(EmitContext c, int m)
        {
            if (c.AdjBlock(_spec.Output) is { } whole) c.Line($"global::OdeDsl.Tensors.Elementwise.AddTo<T>(cotangent.Slice(0, batch * {m}), {whole});");
            else if (c.Adj(_spec.Output, "i") is { } seed) c.RowLoop(m, $"{seed} += cotangent[b * {m} + i];");
        }
    }
}
