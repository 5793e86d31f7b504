using System;
using OdeDsl.Generators.Diagnostics;
using OdeDsl.Generators.Helpers;

namespace OdeDsl.Generators.Ir
{
    /// <summary>One SSA value: an operation on earlier values, with its static per-row shape (empty = scalar).</summary>
    internal sealed record Node(int Id, OpKind Op, EquatableArray<int> Args, EquatableArray<int> Shape,
        double Value, EquatableArray<int> Ints, string Text)
    {
        public int Size
        {
            get
            {
                int n = 1;
                foreach (int d in Shape) n *= d;
                return n;
            }
        }

        public int Arg(int i) => Args[i];
    }

    /// <summary>One [Param] argument: name, shape, offset in θ and default initialiser (kind name + scale).</summary>
    internal sealed record ParamSpec(string Name, EquatableArray<int> Shape, int Offset, string InitKind, double Scale)
    {
        public int Length
        {
            get
            {
                int n = 1;
                foreach (int d in Shape) n *= d;
                return n;
            }
        }
    }

    /// <summary>A containing type declaration level: keyword ("class", "struct", "record", "record struct", "interface") and name.</summary>
    internal sealed record TypeLevel(string Keyword, string Name, bool IsStatic);

    /// <summary>Everything needed to emit one dynamics type: pure data, no symbols or syntax.</summary>
    internal sealed record DynamicsSpec(
        string Namespace, EquatableArray<TypeLevel> Types, string MethodName, string NestedName, bool EmitParametersProperty,
        EquatableArray<int> StateShape, EquatableArray<ParamSpec> Params, EquatableArray<Node> Nodes, int Output,
        bool IsFunction = false)
    {
        public int StateSize
        {
            get
            {
                int n = 1;
                foreach (int d in StateShape) n *= d;
                return n;
            }
        }
    }

    /// <summary>The parse result: a spec when the method is valid, and the diagnostics found.</summary>
    internal sealed record ParseResult(DynamicsSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics, string HintName);

    /// <summary>Raised inside the parser to stop at the first error; converted to a diagnostic, never escapes.</summary>
    internal sealed class DslException : Exception
    {
        public DslException(DiagnosticInfo info) : base(info.Id) => Info = info;
        public DiagnosticInfo Info { get; }
    }
}
