using OdeDsl.Flows;

namespace OdeDsl.Gpu.Batched;

/// <summary>Element-wise functions of a <see cref="DeviceNet"/> (run on the device by <see cref="BatchedKernels.Activate"/>).</summary>
public enum DeviceActivation
{
    None,
    Tanh,
    /// <summary>σ(x) = 1 / (1 + e^−x).</summary>
    Sigmoid,
    /// <summary>log(1 + e^x), written as max(x, 0) + log(1 + e^−|x|).</summary>
    Softplus,
    /// <summary>x for x &gt; 0, e^x − 1 otherwise (α = 1).</summary>
    Elu,
    Relu,
    /// <summary>x³ (the spiral demo's field acts on y³).</summary>
    Cube,
}

/// <summary>
/// A field f(t, y) = layers(y) made of dense layers and element-wise functions, described at run time for the batched
/// GPU path (<see cref="BatchedOde"/>): each Linear layer is one tiled matrix-product kernel over the whole batch with its
/// bias, time terms and following activation fused into the kernel's epilogue. θ is the field's own flat parameter vector
/// (the layout of the generated or hand-written CPU field), so the same θ drives the CPU runtime and the device.
/// <para>A Linear layer computes a_j = s_j·(W x)_j + c_j over the input x of width <c>inputs</c>, with W [outputs, inputs
/// (+1)] row-major at <c>weightOffset</c> (nn.Linear's layout), c_j = b_j (+ t·W[j, inputs] with a time column, the
/// concatenated-t input [x, t]), and for FFJORD's concatsquash layers s_j = σ(gate_j·t + gateBias_j),
/// c_j ← c_j·s_j + hyperBias_j·t (s_j = 1 otherwise).</para>
/// <example>The spiral demo's field W2·tanh(W1·y³ + b1) + b2:
/// <code>
/// var L = SpiralField.Dynamics.Layout;
/// var net = new DeviceNet(2, L.Count).Activation(DeviceActivation.Cube)
///     .Linear(2, 50, L["W1"].Offset, L["b1"].Offset).Activation(DeviceActivation.Tanh)
///     .Linear(50, 2, L["W2"].Offset, L["b2"].Offset);
/// </code>
/// A CNF MLP field (<see cref="MlpField{TSpec}"/>): <c>DeviceNet.FromMlpField&lt;FfjordToySpec&gt;()</c>.</example>
/// </summary>
public sealed class DeviceNet
{
    private readonly List<Op> _ops = [];
    private int _width;

    /// <param name="stateSize">The state's size S: the first layer's input width and the last layer's output width.</param>
    /// <param name="parameterCount">The length of θ; every layer's parameters must lie inside it.</param>
    public DeviceNet(int stateSize, int parameterCount)
    {
        if (stateSize < 1) throw new ArgumentOutOfRangeException(nameof(stateSize), stateSize, "The state size must be positive.");
        if (parameterCount < 0) throw new ArgumentOutOfRangeException(nameof(parameterCount), parameterCount, "The parameter count cannot be negative.");
        StateSize = stateSize;
        ParameterCount = parameterCount;
        _width = stateSize;
    }

    public int StateSize { get; }
    public int ParameterCount { get; }
    /// <summary>The widest layer output (the size of the per-row activation buffers).</summary>
    public int MaxWidth { get; private set; }
    internal IReadOnlyList<Op> Ops => _ops;

    /// <summary>A dense layer over the current width <paramref name="inputs"/> (biasOffset −1: no bias; timeColumn: W has a
    /// last column multiplied by t).</summary>
    public DeviceNet Linear(int inputs, int outputs, int weightOffset, int biasOffset = -1, bool timeColumn = false)
        => Add(inputs, outputs, new LinearLayer
        {
            In = inputs, Out = outputs, Weight = weightOffset, WeightStride = inputs + (timeColumn ? 1 : 0), Bias = biasOffset,
            TimeColumn = timeColumn ? 1 : 0, Gate = -1, GateBias = -1, HyperBias = -1,
        });

    /// <summary>FFJORD's ConcatSquashLinear: (W x + b) ⊙ σ(gate·t + gateBias) + hyperBias·t (gate and hyperBias [outputs]).</summary>
    public DeviceNet ConcatSquashLinear(int inputs, int outputs, int weightOffset, int biasOffset, int gateOffset, int gateBiasOffset, int hyperBiasOffset)
        => Add(inputs, outputs, new LinearLayer
        {
            In = inputs, Out = outputs, Weight = weightOffset, WeightStride = inputs, Bias = biasOffset, TimeColumn = 0,
            Squash = 1, Gate = gateOffset, GateBias = gateBiasOffset, HyperBias = hyperBiasOffset,
        });

    /// <summary>An element-wise function of the current values; right after a Linear layer it runs in that layer's kernel.</summary>
    public DeviceNet Activation(DeviceActivation activation)
    {
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        if (activation == DeviceActivation.None) return this;
        if (_ops.Count > 0 && _ops[^1] is { Layer: not null, Activation: DeviceActivation.None } last)
            _ops[^1] = last with { Activation = activation };
        else _ops.Add(new Op(null, activation));
        return this;
    }

    /// <summary>The device description of <see cref="MlpField{TSpec}"/> (a CNF field): its Linear layers over θ's
    /// layout (W{l}, b{l}, and gate{l}, gateBias{l}, hyperBias{l} for concatsquash), tanh after each hidden layer.</summary>
    public static DeviceNet FromMlpField<TSpec>() where TSpec : IMlpFieldSpec
    {
        var layout = MlpField<TSpec>.Layout;
        int[] widths = [TSpec.Dimension, .. TSpec.Hidden, TSpec.Dimension];
        var net = new DeviceNet(TSpec.Dimension, layout.Count);
        for (int l = 1; l < widths.Length; l++)
        {
            var w = layout[$"W{l}"];
            int b = layout[$"b{l}"].Offset;
            if (TSpec.Time == TimeInput.ConcatSquash)
                net.ConcatSquashLinear(widths[l - 1], widths[l], w.Offset, b, layout[$"gate{l}"].Offset, layout[$"gateBias{l}"].Offset, layout[$"hyperBias{l}"].Offset);
            else net.Linear(widths[l - 1], widths[l], w.Offset, b, timeColumn: w.Shape[1] == widths[l - 1] + 1);
            if (l < widths.Length - 1) net.Activation(DeviceActivation.Tanh);
        }
        return net;
    }

    /// <summary>Throws unless the layers chain from the state back to the state.</summary>
    internal void Validate()
    {
        if (!_ops.Any(o => o.Layer is not null))
            throw new InvalidOperationException("A DeviceNet needs at least one Linear layer (the batched path is for matrix-product fields).");
        if (_width != StateSize)
            throw new InvalidOperationException($"The last layer outputs {_width} values per row; the state has {StateSize}. Add a Linear layer back to the state size.");
    }

    private DeviceNet Add(int inputs, int outputs, LinearLayer layer)
    {
        if (inputs != _width)
            throw new ArgumentException($"Layer {_ops.Count + 1} takes {inputs} inputs, but the values before it have width {_width}.", nameof(inputs));
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "A layer needs at least one output.");
        Check("weights", layer.Weight, (long)outputs * layer.WeightStride);
        if (layer.Bias >= 0 || layer.Squash == 1) Check("bias", layer.Bias, outputs);
        if (layer.Squash == 1)
        {
            Check("gate", layer.Gate, outputs);
            Check("gate bias", layer.GateBias, outputs);
            Check("hyper bias", layer.HyperBias, outputs);
        }
        _ops.Add(new Op(layer, DeviceActivation.None));
        _width = outputs;
        MaxWidth = Math.Max(MaxWidth, outputs);
        return this;

        void Check(string what, int offset, long length)
        {
            if (offset < 0 || offset + length > ParameterCount)
                throw new ArgumentOutOfRangeException(nameof(layer), $"Layer {_ops.Count + 1}'s {what} [{offset}, {offset + length}) lie outside θ [0, {ParameterCount}).");
        }
    }

    /// <summary>A Linear layer (with the activation fused into its epilogue) or a lone element-wise function.</summary>
    internal sealed record Op(LinearLayer? Layer, DeviceActivation Activation);
}
