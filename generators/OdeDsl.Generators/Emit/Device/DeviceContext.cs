using System.Collections.Generic;
using System.Globalization;
using System.Text;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device
{
    /// <summary>
    /// What device rules use to write one trajectory's straight-line code for one precision. A value lives in the state
    /// (<c>h[i]</c>), the time (<c>t</c>), θ (<c>theta[off + i]</c>), a literal, a local (scalar nodes: <c>v5</c>, their
    /// tangent <c>d5</c>, adjoint <c>a5</c>) or the thread's work vector (vector nodes: values at a fixed offset in the
    /// first region, tangents or adjoints at the same offset in the second). Every accessor takes an index expression
    /// (<c>"i"</c>, <c>"0"</c>, <c>"3 + i"</c>). Nothing allocates: ILGPU kernels cannot.
    /// </summary>
    internal sealed class DeviceContext
    {
        private readonly StringBuilder _sb;
        private readonly IReadOnlyList<Node> _nodes;
        private readonly DeviceLoc[] _locs;
        private readonly bool[] _dependsOnState;
        private int _indent;

        public DeviceContext(StringBuilder sb, IReadOnlyList<Node> nodes, DeviceLoc[] locs, bool[] dependsOnState, int region, bool isFloat, int indent)
        {
            _sb = sb;
            _nodes = nodes;
            _locs = locs;
            _dependsOnState = dependsOnState;
            Region = region;
            IsFloat = isFloat;
            _indent = indent;
        }

        public bool IsFloat { get; }
        /// <summary>The precision's C# keyword.</summary>
        public string T => IsFloat ? "float" : "double";
        /// <summary>The size of the value region: tangents and adjoints of vector nodes start there.</summary>
        public int Region { get; }
        /// <summary>Set while emitting the divergence: the state's tangent is the basis vector e_basis, not a buffer.</summary>
        public bool BasisTangent { get; set; }

        public Node Node(int id) => _nodes[id];
        public bool DependsOnState(int id) => _dependsOnState[id];

        public string Zero => IsFloat ? "0f" : "0d";
        public string One => IsFloat ? "1f" : "1d";

        /// <summary>A literal of the precision (the CPU code's T.CreateTruncating(v), rounded once to float in float).</summary>
        public string Lit(double v)
        {
            if (double.IsNaN(v)) return $"{T}.NaN";
            if (double.IsPositiveInfinity(v)) return $"{T}.PositiveInfinity";
            if (double.IsNegativeInfinity(v)) return $"{T}.NegativeInfinity";
            string text = IsFloat ? ((float)v).ToString("R", CultureInfo.InvariantCulture) + "f" : v.ToString("R", CultureInfo.InvariantCulture) + "d";
            return v < 0 ? "(" + text + ")" : text; // so that -{x} never reads as a decrement
        }

        /// <summary>A System.Math (double) or System.MathF (float) function: both run unchanged on ILGPU's CPU
        /// accelerator and map to ILGPU's device math in PTX (the context enables ILGPU.Algorithms).</summary>
        public string M(string function) => (IsFloat ? "global::System.MathF." : "global::System.Math.") + function;

        private static string Ix(int off, string idx) =>
            idx == "0" ? off.ToString(CultureInfo.InvariantCulture) : off == 0 ? idx : off + " + " + idx;

        public string Val(int id, string idx)
        {
            var l = _locs[id];
            return l.Kind switch
            {
                DeviceBuffer.State => $"h[{Ix(l.Off, idx)}]",
                DeviceBuffer.Time => "t",
                DeviceBuffer.Theta => $"theta[{Ix(l.Off, idx)}]",
                DeviceBuffer.Const => Lit(_nodes[id].Value),
                DeviceBuffer.Local => "v" + l.Owner,
                _ => $"work[{Ix(l.Off, idx)}]",
            };
        }

        /// <summary>The tangent of a node, or null where it is identically zero.</summary>
        public string? Tan(int id, string idx)
        {
            if (!_dependsOnState[id]) return null;
            var l = _locs[id];
            return l.Kind switch
            {
                DeviceBuffer.State => BasisTangent ? $"({Ix(l.Off, idx)} == basis ? {One} : {Zero})" : $"tangent[{Ix(l.Off, idx)}]",
                DeviceBuffer.Local => "d" + l.Owner,
                DeviceBuffer.Work => $"work[{Ix(Region + l.Off, idx)}]",
                _ => null,
            };
        }

        /// <summary>The adjoint accumulator of a node, or null where none is needed (constants, the time).</summary>
        public string? Adj(int id, string idx)
        {
            var l = _locs[id];
            return l.Kind switch
            {
                DeviceBuffer.State => $"gradH[{Ix(l.Off, idx)}]",
                DeviceBuffer.Theta => $"gradTheta[{Ix(l.Off, idx)}]",
                DeviceBuffer.Local => "a" + l.Owner,
                DeviceBuffer.Work => $"work[{Ix(Region + l.Off, idx)}]",
                _ => null,
            };
        }

        /// <summary>The operand's index inside an element-wise loop over <paramref name="outSize"/> elements: scalars broadcast.</summary>
        public string Bcast(int arg, int outSize, string idx) => _nodes[arg].Size == outSize ? idx : "0";

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

        /// <summary>
        /// An element loop over <paramref name="size"/> elements (index <c>i</c>); a single element is written without a
        /// loop (index <c>0</c>), in its own scope when it is more than one statement (rule temporaries must not clash).
        /// </summary>
        public void Elements(int size, System.Func<string, IEnumerable<string>> body)
        {
            var lines = new List<string>(body(size == 1 ? "0" : "i"));
            if (size == 1 && lines.Count == 1)
            {
                Line(lines[0]);
                return;
            }
            Open(size == 1 ? "" : $"for (int i = 0; i < {size}; i++)");
            foreach (var line in lines) Line(line);
            Close();
        }
    }

    internal enum DeviceBuffer { State, Time, Theta, Const, Local, Work }

    /// <summary>Where a node's value lives in device code; views (slices) shift their base's offset.</summary>
    internal readonly struct DeviceLoc
    {
        public DeviceLoc(DeviceBuffer kind, int owner, int off)
        {
            Kind = kind;
            Owner = owner;
            Off = off;
        }

        public DeviceBuffer Kind { get; }
        public int Owner { get; }
        public int Off { get; }
        public DeviceLoc Shift(int by) => Kind == DeviceBuffer.Local ? this : new(Kind, Owner, Off + by);
    }
}
