namespace OdeDsl.Generators.Ir
{
    /// <summary>
    /// The primitives of the dynamics IR. Every member has exactly one implementation in Primitives/
    /// (shape rule, JVP rule, VJP rule, C# emission), registered in <see cref="Primitives.PrimitiveTable"/>.
    /// Fields of <see cref="Node"/>: Args are operand node ids, Value is a number (constant value, exponent),
    /// Ints are integer attributes (offsets, flags).
    /// </summary>
    internal enum OpKind
    {
        /// <summary>The state h (per row). No args.</summary>
        State,
        /// <summary>The time t (per row scalar). No args.</summary>
        Time,
        /// <summary>A [Param] argument; Ints[0] = parameter index.</summary>
        Param,
        /// <summary>A literal or const; Value holds it. <c>2f</c>.</summary>
        Const,
        /// <summary>A view of Args[0] starting at Ints[0] (h[1], h[2..5], m[i, j]); no storage of its own.</summary>
        Slice,
        /// <summary><c>x + y</c>, element-wise; a scalar operand broadcasts.</summary>
        Add,
        /// <summary><c>x - y</c>.</summary>
        Sub,
        /// <summary><c>x * y</c> element-wise (a Mat times a Vec is <see cref="MatVec"/>).</summary>
        Mul,
        /// <summary><c>x / y</c>.</summary>
        Div,
        /// <summary><c>-x</c>.</summary>
        Neg,
        Tanh, Sigmoid, Relu, Softplus, Elu, Exp, Log, Sin, Cos, Sqrt, Square, Abs,
        /// <summary><c>Pow(x, c)</c> with constant exponent c in Value.</summary>
        Pow,
        /// <summary><c>W * x</c> with W a [Param] matrix; Ints[0] = 1 for <c>Transpose(W) * x</c>. One GEMM over the batch.</summary>
        MatVec,
        /// <summary><c>Dot(x, y)</c>: scalar.</summary>
        Dot,
        /// <summary><c>Sum(x)</c>: scalar.</summary>
        Sum,
        /// <summary><c>Mean(x)</c>: scalar.</summary>
        Mean,
        /// <summary><c>Outer(x, y)</c>: a [n, m] matrix per row.</summary>
        Outer,
        /// <summary><c>Transpose(m)</c> of a per-row matrix (a [Param] matrix transposed feeds <see cref="MatVec"/> instead).</summary>
        Transpose,
        /// <summary><c>Concat(a, b)</c>, <c>Concat(h, t)</c>, <c>Vec.Of(x, y, ...)</c>: operands laid end to end.</summary>
        Concat,
        /// <summary><c>Conv2d(x, K, bias, stride: s, padding: p)</c>: x [Cin, H, W], K and bias [Param]s; Ints = [stride, padding].</summary>
        Conv2d,
        /// <summary><c>GroupNorm(x, groups: g, γ, β)</c>: x [C, ...], γ and β [Param]s; Ints = [groups]. Keeps per-row statistics.</summary>
        GroupNorm,
        /// <summary><c>ConcatChannel(x, t)</c>: [C, H, W] → [C + 1, H, W], the new channel filled with the scalar t.</summary>
        ConcatChannel,
        /// <summary><c>AvgPool(x, kernel: k, stride: s)</c>: x [C, H, W] → [C, OH, OW]; Ints = [kernel, stride, input size].</summary>
        AvgPool,
        /// <summary><c>GlobalAvgPool(x)</c>: x [C, ...] → [C], the mean of each channel (adaptive average pooling to 1×1).</summary>
        GlobalAvgPool,
    }
}
