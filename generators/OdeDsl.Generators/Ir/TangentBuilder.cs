using System.Linq;

namespace OdeDsl.Generators.Ir
{
    /// <summary>
    /// What the primitives' IR tangent rules (<see cref="Primitives.Primitive.Tangent"/>) build with: the graph being
    /// extended, and tangent arithmetic in which −1 stands for a tangent that is identically zero (so that zero terms
    /// add no nodes). Constant folding and hash-consing are the builder's (Sub(1, Square(y)) is shared by every sweep).
    /// </summary>
    internal sealed class TangentBuilder
    {
        public const int Zero = -1;

        public TangentBuilder(GraphBuilder graph) => Graph = graph;

        public GraphBuilder Graph { get; }
        public Node this[int id] => Graph[id];

        public int Op(OpKind op, params int[] args) => Graph.Add(op, args);
        public int Op(OpKind op, int[] args, double value, int[] ints) => Graph.Add(op, args, value, ints);
        public int Const(double v) => Graph.Constant(v);

        /// <summary>a + b.</summary>
        public int Sum(int a, int b) => a == Zero ? b : b == Zero ? a : Op(OpKind.Add, a, b);

        /// <summary>a − b.</summary>
        public int Diff(int a, int b) => b == Zero ? a : a == Zero ? Op(OpKind.Neg, b) : Op(OpKind.Sub, a, b);

        /// <summary>x ∘ d for a tangent d (broadcasting as Mul does).</summary>
        public int Times(int x, int d) => d == Zero ? Zero : Op(OpKind.Mul, x, d);

        /// <summary>Linear primitives: the same operation on the tangent.</summary>
        public int Apply(Node n, int d) => d == Zero ? Zero : Op(n.Op, new[] { d }, n.Value, n.Ints.ToArray());

        /// <summary>A vector of zeros the size of node <paramref name="like"/> (pieces of a Concat's tangent).</summary>
        public int Zeros(Node like) =>
            like.Shape.Count == 0 ? Const(0) : Op(OpKind.Concat, Enumerable.Repeat(Const(0), like.Size).ToArray());

        /// <summary>
        /// A tangent of n's shape from <paramref name="d"/>: a scalar tangent of a broadcast operand (x + y with x a
        /// scalar, y a vector and only dx non-zero) is spread over the vector; tensors of rank 2 or more have no rule here.
        /// </summary>
        public int Fit(int d, Node n)
        {
            if (d == Zero || Graph[d].Size == n.Size) return d;
            if (n.Shape.Count != 1) throw new NoTangentRule($"a scalar tangent spread over {Primitives.Primitive.ShapeText(n)}");
            return Op(OpKind.Mul, d, Op(OpKind.Concat, Enumerable.Repeat(Const(1), n.Size).ToArray()));
        }

        /// <summary>A tangent that folded to the constant 0 is the zero tangent.</summary>
        public int Normalize(int d) => d != Zero && Graph[d].Op == OpKind.Const && Graph[d].Value == 0 ? Zero : d;
    }

    /// <summary>A primitive (or shape) without an IR tangent rule: the divergence's VJP is not generated for that method.</summary>
    internal sealed class NoTangentRule : System.Exception
    {
        public NoTangentRule(string what) : base(what) { }
    }
}
