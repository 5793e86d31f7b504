using System.Collections.Generic;
using System.Globalization;
using System.Text;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit
{
    /// <summary>Where a value lives: the state, the time, θ, a hoisted constant, or its own workspace slot.</summary>
    internal enum Buffer { State, Time, Theta, Const, Work }

    /// <summary>
    /// How an element-wise operand reaches a whole-block kernel: a contiguous [batch, n] block, a θ row vector shared by
    /// every row (a bias), a scalar shared by every row (a constant or a θ scalar), or none of these (scalar loop).
    /// </summary>
    internal enum OperandKind { Block, Row, Scalar, Other }

    /// <summary>An operand's kind, its value text (a span, or a scalar expression) and its adjoint text (null if none).</summary>
    internal readonly struct Operand
    {
        public Operand(OperandKind kind, string value, string? adjoint)
        {
            Kind = kind;
            Value = value;
            Adjoint = adjoint;
        }

        public OperandKind Kind { get; }
        public string Value { get; }
        public string? Adjoint { get; }
    }

    /// <summary>
    /// A value's storage. Batched buffers are [batch, RowStride] row-major and the value starts at Off inside each row;
    /// θ is shared by all rows (RowStride 0). Owner is the node whose slot holds it (views point into their base).
    /// </summary>
    internal readonly struct Loc
    {
        public Loc(Buffer buffer, int owner, int rowStride, int off)
        {
            Buffer = buffer;
            Owner = owner;
            RowStride = rowStride;
            Off = off;
        }

        public Buffer Buffer { get; }
        public int Owner { get; }
        public int RowStride { get; }
        public int Off { get; }
        public Loc Shift(int by) => new(Buffer, Owner, RowStride, Off + by);
    }

    /// <summary>
    /// What primitives use to emit code: element accessors for values, tangents and adjoints (null where they are
    /// identically zero or not needed), span accessors for GEMM calls, and the text writer.
    /// Index strings: <c>"i"</c>, <c>"0"</c>, <c>"3 + i"</c>; <c>b</c> is always the row variable.
    /// </summary>
    internal sealed class EmitContext
    {
        private readonly StringBuilder _sb;
        private readonly Loc[] _locs;
        private readonly bool[] _dependsOnState;
        private int _indent;

        public EmitContext(StringBuilder sb, IReadOnlyList<Node> nodes, Loc[] locs, bool[] dependsOnState, int indent)
        {
            _sb = sb;
            Nodes = nodes;
            _locs = locs;
            _dependsOnState = dependsOnState;
            _indent = indent;
        }

        public IReadOnlyList<Node> Nodes { get; }
        /// <summary>
        /// The node whose adjoint is the read-only <c>cotangent</c> argument instead of a workspace slot (the output, during
        /// a reverse sweep that reads the cotangent in place), or −1.
        /// </summary>
        public int CotangentOwner { get; set; } = -1;
        /// <summary>Names of the input buffer and of its gradient: h/gradH for dynamics, x/gradX for [Differentiable] functions.</summary>
        public string InputName { get; set; } = "h";
        public string InputGradName { get; set; } = "gradH";
        public Node Node(int id) => Nodes[id];
        public Loc LocOf(int id) => _locs[id];
        public bool DependsOnState(int id) => _dependsOnState[id];

        public void Line(string text) => _sb.Append(' ', _indent * 4).Append(text).Append('\n');
        public void Open(string header)
        {
            if (header.Length > 0) Line(header);
            Line("{");
            _indent++;
        }
        public void Close()
        {
            _indent--;
            Line("}");
        }

        /// <summary>A loop over rows and over the node's <paramref name="size"/> elements, with <paramref name="body"/> inside.</summary>
        public void RowLoop(int size, params string[] body)
        {
            Open("for (int b = 0; b < batch; b++)");
            Open($"for (int i = 0; i < {size}; i++)");
            foreach (var line in body) Line(line);
            Close();
            Close();
        }

        /// <summary>The index of an operand inside an element-wise loop over <paramref name="outSize"/> elements: scalars broadcast.</summary>
        public string Bcast(int arg, int outSize) => Nodes[arg].Size == outSize ? "i" : "0";

        public static string Literal(double v)
        {
            if (double.IsNaN(v)) return "T.NaN";
            if (double.IsPositiveInfinity(v)) return "T.PositiveInfinity";
            if (double.IsNegativeInfinity(v)) return "T.NegativeInfinity";
            return "T.CreateTruncating(" + v.ToString("R", CultureInfo.InvariantCulture) + "d)";
        }

        private static string Ix(int off, string idx) =>
            idx == "0" ? off.ToString(CultureInfo.InvariantCulture) : off == 0 ? idx : off + " + " + idx;

        private static string Row(Loc l, string idx) =>
            l.RowStride == 1 && l.Off == 0 && idx == "0" ? "b" : $"b * {l.RowStride} + {Ix(l.Off, idx)}";

        /// <summary>The value of node <paramref name="id"/> at element <paramref name="idx"/> of row b.</summary>
        public string Val(int id, string idx)
        {
            var l = _locs[id];
            return l.Buffer switch
            {
                Buffer.State => $"{InputName}[{Row(l, idx)}]",
                Buffer.Time => "t[b]",
                Buffer.Theta => $"theta[{Ix(l.Off, idx)}]",
                Buffer.Const => "k" + id,
                _ => $"ws[f{l.Owner} + {Row(l, idx)}]",
            };
        }

        /// <summary>The tangent (∂value/∂h)·v, or null where it is identically zero.</summary>
        public string? Tan(int id, string idx)
        {
            var l = _locs[id];
            if (!_dependsOnState[id]) return null;
            return l.Buffer switch
            {
                Buffer.State => $"tangent[{Row(l, idx)}]",
                Buffer.Work => $"ws[d{l.Owner} + {Row(l, idx)}]",
                _ => null,
            };
        }

        /// <summary>The adjoint accumulator of node <paramref name="id"/>, or null when it needs none (constants).</summary>
        public string? Adj(int id, string idx)
        {
            var l = _locs[id];
            return l.Buffer switch
            {
                Buffer.State => $"{InputGradName}[{Row(l, idx)}]",
                Buffer.Time => "gradT[b]",
                Buffer.Theta => $"gradTheta[{Ix(l.Off, idx)}]",
                Buffer.Work => l.Owner == CotangentOwner ? $"cotangent[{Row(l, idx)}]" : $"ws[a{l.Owner} + {Row(l, idx)}]",
                _ => null,
            };
        }

        /// <summary>The value buffer from the node's first element, for GEMM; its leading dimension is <see cref="Loc.RowStride"/>.</summary>
        public string ValSpan(int id)
        {
            var l = _locs[id];
            return l.Buffer switch
            {
                Buffer.State => $"{InputName}.Slice({l.Off})",
                Buffer.Theta => $"theta.Slice({l.Off})",
                Buffer.Time => "t",
                Buffer.Work => $"ws.Slice(f{l.Owner} + {l.Off})",
                _ => throw new System.InvalidOperationException("no span for " + l.Buffer),
            };
        }

        public string? TanSpan(int id)
        {
            var l = _locs[id];
            if (!_dependsOnState[id]) return null;
            return l.Buffer switch
            {
                Buffer.State => $"tangent.Slice({l.Off})",
                Buffer.Work => $"ws.Slice(d{l.Owner} + {l.Off})",
                _ => null,
            };
        }

        /// <summary>The adjoint buffer from the node's first element (or <paramref name="shift"/> elements into its row: a piece of it).</summary>
        public string? AdjSpan(int id, int shift = 0)
        {
            var l = _locs[id].Shift(shift);
            return l.Buffer switch
            {
                Buffer.State => $"{InputGradName}.Slice({l.Off})",
                Buffer.Theta => $"gradTheta.Slice({l.Off})",
                Buffer.Time => "gradT",
                Buffer.Work => l.Owner == CotangentOwner ? $"cotangent.Slice({l.Off})" : $"ws.Slice(a{l.Owner} + {l.Off})",
                _ => null,
            };
        }

        public int Ld(int id) => _locs[id].RowStride;

        /// <summary>The node's private per-row storage (after its [batch, size] values) in the forward region.</summary>
        public string Extra(int id, int perRow) => $"ws.Slice(f{id} + batch * {Nodes[id].Size}, batch * {perRow})";

        /// <summary>The fixed part of the shared scratch, and the per-row temporary after it.</summary>
        public int ScratchFixedLength { get; set; }
        public string Scratch => $"scratch.Slice(0, {ScratchFixedLength})";
        public string Temp(int perRow) => $"scratch.Slice({ScratchFixedLength}, batch * {perRow})";

        /// <summary>Nodes whose adjoint the one kernel that contributes to it writes directly (neither cleared nor added into; see CSharpEmitter.AssignedAdjoints).</summary>
        public HashSet<int> AssignedAdjoints { get; set; } = new HashSet<int>();

        /// <summary>Where a kernel that writes (not accumulates) node <paramref name="id"/>'s adjoint contribution writes it:
        /// the adjoint itself when that is assigned, else <paramref name="temp"/>, which <see cref="AddInto"/> then adds in.</summary>
        public string WriteTarget(int id, string temp) => AssignedAdjoints.Contains(id) ? AdjSpan(id) ?? temp : temp;

        /// <summary>Adds a [batch, size] temporary into a node's adjoint (for kernels that write rather than accumulate);
        /// nothing when the kernel wrote the adjoint itself (<see cref="WriteTarget"/>).</summary>
        public void AddInto(int id, string temp)
        {
            if (AssignedAdjoints.Contains(id)) return;
            var target = AdjSpan(id);
            if (target is null) return;
            Open("");
            Line($"var from = {temp};");
            Line($"var into = {target};");
            Line($"global::OdeDsl.Tensors.Elementwise.AddTo<T>(from.Slice(0, batch * {Nodes[id].Size}), into.Slice(0, batch * {Nodes[id].Size}));");
            Close();
        }

        /// <summary>A contiguous [batch, size] value, required by the tensor kernels.</summary>
        public bool IsContiguous(int id) => _locs[id].Off == 0 && _locs[id].RowStride == Nodes[id].Size
            && (_locs[id].Buffer == Buffer.State || _locs[id].Buffer == Buffer.Work);

        /// <summary>
        /// The whole [batch, size] value of a contiguous node as one span (for element-wise kernels), or null when the
        /// node is not contiguous (a view at an offset, θ, a constant, the time).
        /// </summary>
        public string? ValBlock(int id) => Block(id, InputName, "f");

        /// <summary>The node's tangent as one [batch, size] span; null when not contiguous or identically zero.</summary>
        public string? TanBlock(int id) => _dependsOnState[id] ? Block(id, "tangent", "d") : null;

        /// <summary>The node's adjoint accumulator as one [batch, size] span; null when not contiguous.</summary>
        public string? AdjBlock(int id) => Block(id, InputGradName, "a");

        private string? Block(int id, string stateName, string region)
        {
            if (!IsContiguous(id)) return null;
            var l = _locs[id];
            string length = $"batch * {Nodes[id].Size}";
            if (l.Buffer == Buffer.State) return $"{stateName}.Slice(0, {length})";
            if (region == "a" && l.Owner == CotangentOwner) return $"cotangent.Slice(0, {length})";
            return $"ws.Slice({region}{l.Owner}, {length})";
        }

        /// <summary>
        /// Whether an element-wise node over <paramref name="size"/> elements per row takes whole-block kernels. Per-row
        /// scalars (size 1: sliced arithmetic such as Lotka–Volterra's) stay in fused scalar loops, where a chain of
        /// them is one pass instead of one call per node.
        /// </summary>
        public static bool WantsKernel(int size) => size > 1;

        /// <summary>How an operand of an element-wise node over <paramref name="outSize"/> elements can reach a kernel.</summary>
        public Operand OperandOf(int id, int outSize)
        {
            var l = _locs[id];
            var n = Nodes[id];
            if (n.Size == outSize && IsContiguous(id)) return new Operand(OperandKind.Block, ValBlock(id)!, AdjBlock(id));
            if (l.Buffer == Buffer.Theta && n.Size == outSize && outSize > 1)
                return new Operand(OperandKind.Row, $"theta.Slice({l.Off}, {outSize})", $"gradTheta.Slice({l.Off}, {outSize})");
            if (n.Size == 1 && l.Buffer == Buffer.Theta) return new Operand(OperandKind.Scalar, $"theta[{l.Off}]", $"gradTheta[{l.Off}]");
            if (n.Size == 1 && l.Buffer == Buffer.Const) return new Operand(OperandKind.Scalar, "k" + id, null);
            return new Operand(OperandKind.Other, "", null);
        }
    }
}
