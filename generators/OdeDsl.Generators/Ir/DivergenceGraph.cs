using System.Linq;
using OdeDsl.Generators.Helpers;
using OdeDsl.Generators.Primitives;

namespace OdeDsl.Generators.Ir
{
    /// <summary>
    /// The divergence as a program: the dynamics' graph extended, for each basis vector e_j of the state, by the nodes
    /// of its forward-mode sweep (each primitive's IR tangent rule, <see cref="Primitive.Tangent"/>), and an output
    /// [f, Σ_j (∂f/∂h · e_j)_j] of StateSize + 1 values per row. Reverse mode over this graph, by the ordinary VJP rules,
    /// differentiates the tangent computations themselves (reverse over forward): with cotangents (ā_f, ā_div) it gives
    /// ā_fᵀ∂f/∂(h, θ, t) + ā_div·∂tr(∂f/∂h)/∂(h, θ, t) exactly, which a CNF's adjoint needs.
    /// </summary>
    /// <remarks>
    /// Null (no such method is generated) for [Differentiable] functions, states of rank 2 or more or of more than
    /// <see cref="MaxStateSize"/> components, and methods using a
    /// primitive without a tangent rule (those whose derivative is piecewise, and the convolutional ones).
    /// </remarks>
    internal static class DivergenceGraph
    {
        /// <summary>
        /// The divergence program unrolls one sweep per state component, so its code grows with StateSize × graph size;
        /// above this many components neither program is generated (EvaluateWithDivergence, a runtime loop, still is).
        /// </summary>
        public const int MaxStateSize = 64;

        private static bool Eligible(DynamicsSpec spec) => !spec.IsFunction && spec.StateShape.Count == 1 && spec.StateSize <= MaxStateSize;

        public static DynamicsSpec? Build(DynamicsSpec spec)
        {
            if (!Eligible(spec)) return null;
            var nodes = spec.Nodes.ToArray();
            var live = Live(nodes, spec.Output);
            var g = new GraphBuilder(nodes);
            var tb = new TangentBuilder(g);
            int d = spec.StateSize, div = TangentBuilder.Zero;
            try
            {
                for (int j = 0; j < d; j++)
                {
                    int seed = g.Add(OpKind.Concat, Enumerable.Range(0, d).Select(i => g.Constant(i == j ? 1 : 0)).ToArray());
                    int dOut = Sweep(tb, nodes, live, seed)[spec.Output];
                    if (dOut != TangentBuilder.Zero) div = tb.Sum(div, tb.Normalize(SlicePrimitive.Piece(tb, dOut, j, new int[0])));
                }
            }
            catch (NoTangentRule) { return null; }
            catch (ShapeError) { return null; }
            int divNode = div == TangentBuilder.Zero ? g.Constant(0) : div;
            int output = g.Add(OpKind.Concat, new[] { spec.Output, divNode });
            return spec with { Nodes = EquatableArray.From(g.Nodes), Output = output };
        }

        /// <summary>
        /// The Jacobian-vector product along a given direction as a program whose state is [h, v] (2·StateSize per row)
        /// and whose output is [f, (∂f/∂h)·v]: reverse mode over it gives ∂/∂h, ∂/∂v, ∂/∂θ and ∂/∂t of ā_fᵀf + ā_jvᵀ(∂f/∂h)v,
        /// what Hutchinson's estimator εᵀ(∂f/∂h)ε needs. Null where <see cref="Build"/> is.
        /// </summary>
        public static DynamicsSpec? BuildDirectional(DynamicsSpec spec)
        {
            if (!Eligible(spec)) return null;
            var nodes = spec.Nodes.ToArray();
            var live = Live(nodes, spec.Output);
            int d = spec.StateSize;
            var g = new GraphBuilder();
            int state = g.Leaf(OpKind.State, new[] { 2 * d }, new int[0], "[h, v]");
            // the original program, replayed on h = [h, v][0..d]
            var map = new int[nodes.Length];
            foreach (var n in nodes)
            {
                if (!live[n.Id]) continue;
                map[n.Id] = n.Op switch
                {
                    OpKind.State => g.Add(OpKind.Slice, new[] { state }, 0, new[] { 0, d }, n.Text),
                    OpKind.Time or OpKind.Param => g.Leaf(n.Op, n.Shape.ToArray(), n.Ints.ToArray(), n.Text),
                    OpKind.Const => g.Constant(n.Value),
                    _ => g.Add(n.Op, n.Args.Select(a => map[a]).ToArray(), n.Value, n.Ints.ToArray(), n.Text),
                };
            }
            var replayed = g.Nodes.ToArray();
            var tb = new TangentBuilder(g);
            int jv;
            try
            {
                int v = g.Add(OpKind.Slice, new[] { state }, 0, new[] { d, d }, "v");
                jv = Sweep(tb, replayed, Live(replayed, map[spec.Output]), v, stateOverride: map[nodes.First(x => x.Op == OpKind.State).Id])[map[spec.Output]];
            }
            catch (NoTangentRule) { return null; }
            catch (ShapeError) { return null; }
            if (jv == TangentBuilder.Zero) jv = tb.Zeros(g[map[spec.Output]]);
            int output = g.Add(OpKind.Concat, new[] { map[spec.Output], jv });
            return spec with { StateShape = EquatableArray.From(new[] { 2 * d }), Nodes = EquatableArray.From(g.Nodes), Output = output };
        }

        private static bool[] Live(Node[] nodes, int output)
        {
            var live = new bool[nodes.Length];
            live[output] = true;
            for (int id = nodes.Length - 1; id >= 0; id--)
                if (live[id]) foreach (int a in nodes[id].Args) live[a] = true;
            return live;
        }

        /// <summary>
        /// One forward-mode sweep as nodes: the tangent of every live node (TangentBuilder.Zero where none), seeded with
        /// <paramref name="seed"/> on the state (or on <paramref name="stateOverride"/>, the node standing for h).
        /// </summary>
        private static int[] Sweep(TangentBuilder tb, Node[] nodes, bool[] live, int seed, int stateOverride = -1)
        {
            var tan = Enumerable.Repeat(TangentBuilder.Zero, nodes.Length).ToArray();
            foreach (var n in nodes)
            {
                if (!live[n.Id]) continue;
                if (stateOverride >= 0 ? n.Id == stateOverride : n.Op == OpKind.State)
                {
                    tan[n.Id] = seed;
                    continue;
                }
                var dArgs = n.Args.Select(a => tan[a]).ToArray();
                if (dArgs.All(x => x == TangentBuilder.Zero)) continue;
                int? t = PrimitiveTable.Get(n.Op).Tangent(tb, n, dArgs);
                if (t is null) throw new NoTangentRule(n.Op.ToString());
                tan[n.Id] = tb.Normalize(t.Value);
            }
            return tan;
        }
    }
}
