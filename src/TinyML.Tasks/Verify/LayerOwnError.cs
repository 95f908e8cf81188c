using System.Runtime.InteropServices;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Verify;

/// <summary>
/// The error one layer adds by itself: its op run alone on ONNX Runtime's float values of its inputs, represented as
/// the model represents them (quantized to the input's int8 parameters; a float32 layer's dequantize of them; another
/// float32 layer's output as is), against ONNX Runtime's value of its output. Unlike the end-to-end SNR of a tensor,
/// this does not inherit the error of the layers before, so it shows which layer int8 ruins and what float32 fixes.
/// </summary>
internal sealed class LayerOwnError
{
    private readonly LoweredModel _model;
    private readonly IReadOnlyList<LoweredTensor> _tensorsById;
    private readonly IReadOnlyList<(LoweredOp Op, LoweredTensor Tensor)> _layers;
    private readonly Dictionary<int, LoweredOp> _producers = new();
    private readonly Dictionary<string, float[]> _current = new(StringComparer.Ordinal);
    private readonly (double Signal, double Noise)[] _sums;
    private int _sample = -1;

    public LayerOwnError(LoweredModel model, IReadOnlyList<(LoweredOp Op, LoweredTensor Tensor)> layers)
    {
        _model = model;
        _tensorsById = Int8Interpreter.TensorsById(model);
        _layers = layers;
        _sums = new (double, double)[layers.Count];
        foreach (var op in model.Ops)
        {
            _producers.TryAdd(op.Output, op);
        }
    }

    /// <summary>ONNX Runtime values the computation needs besides the layer outputs (the model input, by name).</summary>
    public IEnumerable<string> ExtraNames => [_model.InputTensor.Name];

    /// <summary>Own SNR of layer <paramref name="index"/>; NaN when it could not be measured (no ONNX value of an input, a reshape, a recurrent op).</summary>
    public double SnrDb(int index) => _sums[index] switch
    {
        (0, 0) => double.NaN,
        (_, 0) => double.PositiveInfinity,
        var (signal, noise) => 10 * Math.Log10(signal / noise),
    };

    public void Observe(int sample, string name, ReadOnlySpan<float> values, float[] sampleInput)
    {
        if (sample != _sample)
        {
            Flush();
            _sample = sample;
            _current[_model.InputTensor.Name] = sampleInput;
        }

        _current[name] = values.ToArray();
    }

    /// <summary>Folds the buffered sample into the sums; call once more after the last sample.</summary>
    public void Flush()
    {
        if (_sample < 0)
        {
            return;
        }

        for (var i = 0; i < _layers.Count; i++)
        {
            var (op, tensor) = _layers[i];
            if (op is QReshape or QRecurrent || op.Inputs.Length == 0 || !_current.TryGetValue(tensor.Name, out var expected))
            {
                continue;
            }

            var inputIds = op.Inputs.Distinct().ToList();
            var inputs = inputIds.Select(InputBytes).ToList();
            if (inputs.Any(b => b is null))
            {
                continue;
            }

            var bytes = Int8Interpreter.RunOp(_tensorsById, op, inputIds, inputs.Select(b => b!).ToList());
            var actual = tensor.ElementType switch
            {
                TensorElementType.Float32 => MemoryMarshal.Cast<sbyte, float>(bytes).ToArray(),
                TensorElementType.Int16 => MemoryMarshal.Cast<sbyte, short>(bytes).ToArray().Select(q => tensor.Scale * (float)q).ToArray(),
                _ => Dequantized(bytes, AccuracyReport.DequantizationTable(tensor)),
            };
            var (signal, noise) = _sums[i];
            for (var k = 0; k < Math.Min(expected.Length, actual.Length); k++)
            {
                // A tensor only Signs read keeps only its sign (saturated values): its error is in the signs.
                double e = tensor.SignOnly ? Math.Sign(expected[k]) : expected[k], a = tensor.SignOnly ? Math.Sign(actual[k]) : actual[k];
                signal += e * e;
                noise += (e - a) * (e - a);
            }

            _sums[i] = (signal, noise);
        }

        _current.Clear();
    }

    /// <summary>The bytes one input tensor holds when the layer's inputs are exact: null when ONNX Runtime has no value for it.</summary>
    private sbyte[]? InputBytes(int id)
    {
        var tensor = _model.Tensors[id];
        if (tensor.ElementType == TensorElementType.Int8)
        {
            return _current.TryGetValue(tensor.Name, out var v) ? Quantized(v, tensor.Scale, tensor.ZeroPoint) : null;
        }

        if (tensor.ElementType == TensorElementType.Int16)
        {
            return Int16InputBytes(id, tensor);
        }

        float[] floats;
        if (_producers.TryGetValue(id, out var producer) && producer is QDequantize dequantize)
        {
            var source = _model.Tensors[dequantize.Inputs[0]];
            if (!_current.TryGetValue(source.Name, out var v))
            {
                return null;
            }

            floats = Dequantized(Quantized(v, source.Scale, source.ZeroPoint), AccuracyReport.DequantizationTable(source));
        }
        else if (!_current.TryGetValue(tensor.Name, out floats!))
        {
            return null;
        }

        return MemoryMarshal.Cast<float, sbyte>(floats.AsSpan()).ToArray();
    }

    private static sbyte[] Quantized(float[] values, float scale, int zeroPoint)
    {
        var quantized = new sbyte[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            quantized[i] = QuantizationMath.QuantizeFloat(values[i], scale, zeroPoint);
        }

        return quantized;
    }

    private static float[] Dequantized(sbyte[] values, float[] table)
    {
        var real = new float[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            real[i] = table[values[i] + 128];
        }

        return real;
    }

    /// <summary>
    /// An int16 input: an int8 tensor widened (its exact value quantized to int8, then the widening kernel), or another
    /// int16x8 layer's output (the exact value quantized to int16, zero point 0).
    /// </summary>
    private sbyte[]? Int16InputBytes(int id, LoweredTensor tensor)
    {
        short[] values;
        if (_producers.TryGetValue(id, out var producer) && producer is QRequantizeS8S16 widen)
        {
            var source = _model.Tensors[widen.Inputs[0]];
            if (!_current.TryGetValue(source.Name, out var v))
            {
                return null;
            }

            var int8 = Quantized(v, source.Scale, source.ZeroPoint);
            values = new short[int8.Length];
            Int16x8Kernels.Widen(widen, int8, values);
        }
        else if (_current.TryGetValue(tensor.Name, out var v))
        {
            values = v.Select(x => (short)Math.Clamp(Math.Round(x / (double)tensor.Scale, MidpointRounding.AwayFromZero), short.MinValue, short.MaxValue)).ToArray();
        }
        else
        {
            return null;
        }

        return MemoryMarshal.Cast<short, sbyte>(values.AsSpan()).ToArray();
    }
}
