using System.Collections.Generic;
using System.Linq;
using OdeDsl.Generators.Helpers;
using OdeDsl.Generators.Primitives;

namespace OdeDsl.Generators.Ir
{
    /// <summary>
    /// Builds the SSA graph in topological order. Hash-consing gives common-subexpression elimination for free;
    /// constant operands are folded as nodes are added.
    /// </summary>
    internal sealed class GraphBuilder
    {
        private readonly List<Node> _nodes = new();
        private readonly Dictionary<string, int> _byKey = new();

        public GraphBuilder() { }

        /// <summary>A builder that continues an existing graph (ids kept, hash-consing over its nodes): derived programs such as the divergence's.</summary>
        public GraphBuilder(IEnumerable<Node> existing)
        {
            foreach (var n in existing)
            {
                _nodes.Add(n);
                if (n.Op is not (OpKind.State or OpKind.Time or OpKind.Param))
                    _byKey[Key(n.Op, n.Args.ToArray(), n.Value, n.Ints.ToArray())] = n.Id;
            }
        }

        private static string Key(OpKind op, int[] args, double value, int[] ints) =>
            op + "|" + string.Join(",", args) + "|" + value.ToString("R") + "|" + string.Join(",", ints);

        public IReadOnlyList<Node> Nodes => _nodes;
        public Node this[int id] => _nodes[id];

        /// <summary>Adds (or reuses) a node; the primitive's shape rule computes its shape or throws a shape error message.</summary>
        public int Add(OpKind op, int[] args, double value = 0, int[]? ints = null, string text = "")
        {
            ints ??= new int[0];
            var folded = Fold(op, args, value);
            if (folded is int f) return f;
            string key = Key(op, args, value, ints);
            if (_byKey.TryGetValue(key, out int existing)) return existing;
            var shape = op == OpKind.Const ? new int[0] : PrimitiveTable.Get(op).InferShape(args.Select(a => _nodes[a]).ToArray(), value, ints);
            var node = new Node(_nodes.Count, op, EquatableArray.From(args), EquatableArray.From(shape), value,
                EquatableArray.From(ints), text);
            _nodes.Add(node);
            _byKey[key] = node.Id;
            return node.Id;
        }

        /// <summary>Adds an input of the program (state, time, parameter) with its declared shape.</summary>
        public int Leaf(OpKind op, int[] shape, int[] ints, string text)
        {
            var node = new Node(_nodes.Count, op, EquatableArray<int>.Empty, EquatableArray.From(shape), 0, EquatableArray.From(ints), text);
            _nodes.Add(node);
            return node.Id;
        }

        public int Constant(double v) => Add(OpKind.Const, new int[0], v, null, v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));

        private bool IsConst(int id, out double v)
        {
            var n = _nodes[id];
            v = n.Value;
            return n.Op == OpKind.Const;
        }

        /// <summary>Constant folding and algebraic identities (x+0, x*1, x*0 for scalars); null when nothing applies.</summary>
        private int? Fold(OpKind op, int[] args, double value)
        {
            if (args.Length == 2 && IsConst(args[0], out double a) && IsConst(args[1], out double b))
            {
                switch (op)
                {
                    case OpKind.Add: return Constant(a + b);
                    case OpKind.Sub: return Constant(a - b);
                    case OpKind.Mul: return Constant(a * b);
                    case OpKind.Div: return Constant(a / b);
                }
            }
            if (args.Length == 1 && op == OpKind.Neg && IsConst(args[0], out double c)) return Constant(-c);
            if (args.Length == 2)
            {
                bool c0 = IsConst(args[0], out double v0), c1 = IsConst(args[1], out double v1);
                int size0 = _nodes[args[0]].Size, size1 = _nodes[args[1]].Size;
                if (op == OpKind.Add && c1 && v1 == 0) return args[0];
                if (op == OpKind.Add && c0 && v0 == 0) return args[1];
                if (op == OpKind.Sub && c1 && v1 == 0) return args[0];
                if (op == OpKind.Mul && c1 && v1 == 1) return args[0];
                if (op == OpKind.Mul && c0 && v0 == 1) return args[1];
                if (op == OpKind.Div && c1 && v1 == 1) return args[0];
                if (op == OpKind.Mul && ((c0 && v0 == 0 && size1 == 1) || (c1 && v1 == 0 && size0 == 1))) return Constant(0);
            }
            return null;
        }
    }
}
