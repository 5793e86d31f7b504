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
    /// Null (no such method is generated) for [Differentiable] functions, states of rank 2 or more, and methods using a
    /// primitive without a tangent rule (those whose derivative is piecewise, and the convolutional ones).
    /// </remarks>
    internal static class DivergenceGraph
    {
        public static DynamicsSpec? Build(DynamicsSpec spec)
        {
            if (spec.IsFunction || spec.StateShape.Count != 1) return null;
            var nodes = spec.Nodes.ToArray();
            var live = new bool[nodes.Length];
            live[spec.Output] = true;
            for (int id = nodes.Length - 1; id >= 0; id--)
                if (live[id]) foreach (int a in nodes[id].Args) live[a] = true;

            var g = new GraphBuilder(nodes);
            var tb = new TangentBuilder(g);
            int d = spec.StateSize, div = TangentBuilder.Zero;
            try
            {
                for (int j = 0; j < d; j++)
                {
                    var tan = Enumerable.Repeat(TangentBuilder.Zero, nodes.Length).ToArray();
                    foreach (var n in nodes)
                    {
                        if (!live[n.Id]) continue;
                        if (n.Op == OpKind.State)
                        {
                            tan[n.Id] = g.Add(OpKind.Concat, Enumerable.Range(0, d).Select(i => g.Constant(i == j ? 1 : 0)).ToArray());
                            continue;
                        }
                        var dArgs = n.Args.Select(a => tan[a]).ToArray();
                        if (dArgs.All(x => x == TangentBuilder.Zero)) continue;
                        int? t = PrimitiveTable.Get(n.Op).Tangent(tb, n, dArgs);
                        if (t is null) throw new NoTangentRule(n.Op.ToString());
                        tan[n.Id] = tb.Normalize(t.Value);
                    }
                    int dOut = tan[spec.Output];
                    if (dOut != TangentBuilder.Zero) div = tb.Sum(div, tb.Normalize(SlicePrimitive.Piece(tb, dOut, j, new int[0])));
                }
            }
            catch (NoTangentRule) { return null; }
            catch (ShapeError) { return null; }
            int divNode = div == TangentBuilder.Zero ? g.Constant(0) : div;
            int output = g.Add(OpKind.Concat, new[] { spec.Output, divNode });
            return spec with { Nodes = EquatableArray.From(g.Nodes), Output = output };
        }
    }
}
