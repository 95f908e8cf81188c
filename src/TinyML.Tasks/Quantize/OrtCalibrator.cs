using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;

namespace TinyML.Quantize;

/// <summary>
/// Collects the float range of chosen tensors by running calibration samples through ONNX Runtime. Intermediate
/// tensors are exposed by adding them as graph outputs, so the numbers come from exactly the float model the
/// user shipped. Tensor names are ONNX value names, which the float IR keeps unchanged.
/// </summary>
public static class OrtCalibrator
{
    public static IReadOnlyDictionary<string, (float Min, float Max)> Collect(
        string onnxPath, IReadOnlyList<float[]> samples, IReadOnlyCollection<string> tensorNames) =>
        Collect(onnxPath, samples, tensorNames, prepareModel: null);

    /// <param name="prepareModel">Edits the parsed model before the session is made (pinned inputs, external data).</param>
    /// <param name="referenceGraph">When set, the samples run through the C# float reference on this graph instead (see <see cref="Stream"/>).</param>
    /// <param name="skipUnknown">Skip names no node of the ONNX model produces (tensors the optimizer made, such as the
    /// reshaped rows of a MatMul it turned into a Gemm: the quantizer takes their ranges from the values they are views
    /// of, and reports any tensor still without one).</param>
    internal static IReadOnlyDictionary<string, (float Min, float Max)> Collect(
        string onnxPath, IReadOnlyList<float[]> samples, IReadOnlyCollection<string> tensorNames, Action<ModelProto>? prepareModel,
        Ir.Graph? referenceGraph = null, bool skipUnknown = false)
    {
        var ranges = new Dictionary<string, (float Min, float Max)>(StringComparer.Ordinal);
        Stream(onnxPath, samples, tensorNames, prepareModel,
            (sampleIndex, name, values) => Accumulate(ranges, name, values, samples, sampleIndex, onnxPath), skipUnknown, referenceGraph);
        return ranges;
    }

    /// <summary>Receives one float tensor of one sample; the span is only valid during the call.</summary>
    internal delegate void TensorVisitor(int sampleIndex, string tensorName, ReadOnlySpan<float> values);

    /// <summary>
    /// Runs every sample once through ONNX Runtime with the chosen tensors exposed as outputs and hands each float
    /// tensor to <paramref name="visit"/>, sample by sample, in a fixed order (the input first, then the requested
    /// order). Outputs are disposed right after the visit: memory stays at one sample's worth of intermediates.
    /// </summary>
    /// <param name="skipUnknown">Names no node of the ONNX model produces are skipped instead of failing (tensors the optimizer made).</param>
    /// <param name="referenceGraph">
    /// A model with control flow (If) computes most tensors inside subgraphs, which ONNX Runtime cannot expose as
    /// outputs. Then the samples run through the C# float reference (<see cref="Reference.FloatInterpreter"/>) on this
    /// graph, the optimized graph the quantizer lowers (checked against ONNX Runtime by the shared-model tests); the
    /// extra inputs are fed zeros as below.
    /// </param>
    /// <param name="exposeAlso">
    /// Further tensors to expose as outputs without visiting them, in this order before the visited ones: a pass that
    /// exposes what an earlier pass exposed loads the same model bytes, so it reuses the earlier session
    /// (<see cref="OrtSessions.ReuseSessions"/>).
    /// </param>
    internal static void Stream(
        string onnxPath, IReadOnlyList<float[]> samples, IReadOnlyCollection<string> tensorNames, Action<ModelProto>? prepareModel, TensorVisitor visit,
        bool skipUnknown = false, Ir.Graph? referenceGraph = null, IReadOnlyCollection<string>? exposeAlso = null)
    {
        if (referenceGraph is not null)
        {
            StreamReference(referenceGraph, samples, tensorNames, visit, onnxPath);
            return;
        }

        var bytes = OnnxModelReader.ReadBytes(onnxPath);
        var model = OnnxModelReader.Parse(bytes, onnxPath);
        prepareModel?.Invoke(model);
        var graph = model.Graph;
        var initializers = new HashSet<string>(graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        var modelInputs = new HashSet<string>(graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)), StringComparer.Ordinal);
        var produced = new HashSet<string>(graph.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
        var existingOutputs = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);

        // Constants have exact ranges already; only activations (and the input) need observing, and a graph output that
        // is a constant (the accuracy report compares it). An empty name is an omitted optional input/output (an LSTM's
        // unused Y): nothing to observe.
        var constantOutputs = new HashSet<string>(existingOutputs.Where(initializers.Contains), StringComparer.Ordinal);
        var observed = tensorNames.Where(n => n.Length > 0 && (!initializers.Contains(n) || constantOutputs.Contains(n))).Distinct(StringComparer.Ordinal)
            .Where(n => !skipUnknown || produced.Contains(n) || modelInputs.Contains(n) || constantOutputs.Contains(n)).ToList();
        foreach (var name in observed)
        {
            if (!produced.Contains(name) && !modelInputs.Contains(name) && !constantOutputs.Contains(name))
            {
                throw OrtSessions.Failed(onnxPath, $"tensor '{name}' is not produced by any node of the model");
            }
        }

        // First declaration wins; a file with duplicate value_info entries should not crash calibration.
        var knownTypes = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        foreach (var info in graph.ValueInfo)
        {
            knownTypes.TryAdd(info.Name, info);
        }

        var exposed = exposeAlso is null ? observed
            : exposeAlso.Where(n => n.Length > 0 && !initializers.Contains(n) && produced.Contains(n)).Concat(observed).Distinct(StringComparer.Ordinal).ToList();
        foreach (var name in exposed.Where(n => produced.Contains(n) && !existingOutputs.Contains(n)))
        {
            // Without a declared type ONNX Runtime takes the one it infers: a mask (bool) or integer tensor is fetched
            // as such instead of failing the session on a float declaration.
            graph.Output.Add(knownTypes.TryGetValue(name, out var info) ? info.Clone() : new ValueInfoProto { Name = name });
        }

        if (samples.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.CalibrationDataEmpty,
                $"no calibration samples for '{onnxPath}'", file: onnxPath);
        }

        using var lease = OrtSessions.Acquire(model.ToByteArray(), onnxPath);
        var session = lease.Session;
        // Samples feed the first input. Further inputs (an RNN's state in) are fed zeros, the usual initial state: their
        // calibrated range is then [0, 0] and the state they feed sets their scale (see Quantizer.LowerRecurrent).
        var allInputs = OrtSessions.FloatInputs(session, onnxPath);
        var (inputName, inputShape) = allInputs[0];
        var extraInputs = allInputs.Skip(1).ToList();

        // Float outputs have a range to quantize, and so do masks (bool, read as 0/1) and integer values from a Cast of
        // an activation (read as floats); int64 shape values are constants and never requested.
        var fetched = observed
            .Where(n => allInputs.All(i => i.Name != n) && session.OutputMetadata.TryGetValue(n, out var m) && ObservableTypes.Contains(m.ElementDataType))
            .ToArray();
        var observeInput = observed.Contains(inputName);

        var zeros = extraInputs.Select(i => new float[i.Shape.Aggregate(1L, (a, b) => a * b)]).ToList();
        using var runOptions = new RunOptions();
        for (var sampleIndex = 0; sampleIndex < samples.Count; sampleIndex++)
        {
            var sample = samples[sampleIndex];
            OrtSessions.CheckSampleLength(sample, inputShape, sampleIndex, onnxPath);
            if (observeInput)
            {
                visit(sampleIndex, inputName, sample);
            }

            for (var k = 0; k < extraInputs.Count; k++)
            {
                if (observed.Contains(extraInputs[k].Name))
                {
                    visit(sampleIndex, extraInputs[k].Name, zeros[k]);
                }
            }

            if (fetched.Length == 0)
            {
                continue;
            }

            var inputValues = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(sample, inputShape) };
            inputValues.AddRange(extraInputs.Select((input, k) => OrtValue.CreateTensorValueFromMemory(zeros[k], input.Shape)));
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = session.Run(runOptions, allInputs.Select(i => i.Name).ToList(), inputValues, fetched);
            }
            catch (OnnxRuntimeException e)
            {
                throw OrtSessions.Failed(onnxPath, $"ONNX Runtime failed on calibration sample {sampleIndex}: {e.Message}");
            }
            finally
            {
                inputValues.ForEach(v => v.Dispose());
            }

            using (outputs)
            {
                for (var i = 0; i < fetched.Length; i++)
                {
                    visit(sampleIndex, fetched[i], AsFloats(outputs[i]));
                }
            }
        }
    }

    private static void StreamReference(Ir.Graph graph, IReadOnlyList<float[]> samples, IReadOnlyCollection<string> tensorNames, TensorVisitor visit, string onnxPath)
    {
        if (samples.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.CalibrationDataEmpty, $"no calibration samples for '{onnxPath}'", file: onnxPath);
        }

        var inputs = graph.Inputs.Where(n => !graph.Tensor(n).IsConstant).ToList();
        var observed = tensorNames.Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        for (var sampleIndex = 0; sampleIndex < samples.Count; sampleIndex++)
        {
            OrtSessions.CheckSampleLength(samples[sampleIndex], [.. graph.Tensor(inputs[0]).Shape.Select(d => (long)d)], sampleIndex, onnxPath);
            var feeds = inputs.Skip(1).ToDictionary(n => n, n => new float[graph.Tensor(n).ElementCount], StringComparer.Ordinal);
            feeds[inputs[0]] = samples[sampleIndex];
            var values = Reference.FloatInterpreter.RunAll(graph, feeds);
            foreach (var name in observed)
            {
                // Constants (and int64 shape values) have no activation range to observe.
                if (values.TryGetValue(name, out var value) && !graph.Tensor(name).IsConstant)
                {
                    visit(sampleIndex, name, value.Data);
                }
            }
        }
    }

    private static readonly HashSet<OrtElementType> ObservableTypes =
    [
        OrtElementType.Float, OrtElementType.Bool, OrtElementType.Int8, OrtElementType.UInt8, OrtElementType.Int16,
        OrtElementType.UInt16, OrtElementType.Int32, OrtElementType.Int64,
    ];

    /// <summary>A fetched tensor's values as floats (a float tensor without a copy).</summary>
    private static ReadOnlySpan<float> AsFloats(OrtValue value) => value.GetTensorTypeAndShape().ElementDataType switch
    {
        OrtElementType.Float => value.GetTensorDataAsSpan<float>(),
        OrtElementType.Bool => value.GetTensorDataAsSpan<bool>().ToArray().Select(b => b ? 1f : 0f).ToArray(),
        OrtElementType.Int8 => value.GetTensorDataAsSpan<sbyte>().ToArray().Select(v => (float)v).ToArray(),
        OrtElementType.UInt8 => value.GetTensorDataAsSpan<byte>().ToArray().Select(v => (float)v).ToArray(),
        OrtElementType.Int16 => value.GetTensorDataAsSpan<short>().ToArray().Select(v => (float)v).ToArray(),
        OrtElementType.UInt16 => value.GetTensorDataAsSpan<ushort>().ToArray().Select(v => (float)v).ToArray(),
        OrtElementType.Int32 => value.GetTensorDataAsSpan<int>().ToArray().Select(v => (float)v).ToArray(),
        _ => value.GetTensorDataAsSpan<long>().ToArray().Select(v => (float)v).ToArray(),
    };

    private static void Accumulate(Dictionary<string, (float Min, float Max)> ranges, string name, ReadOnlySpan<float> values, IReadOnlyList<float[]> samples,
        int sampleIndex, string onnxPath)
    {
        if (values.IsEmpty)
        {
            return;
        }

        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var value in values)
        {
            if (!float.IsFinite(value))
            {
                // A NaN/Inf range would silently poison every scale computed from it. Inputs and weights were checked
                // to be finite when loaded (TML2002, TML1008), so it is the model's arithmetic on this sample (or a mask).
                throw OrtSessions.Failed(onnxPath,
                    $"tensor '{name}' becomes {value} on {LoadedSamples.Describe(samples, sampleIndex)}, although that input is finite: the float model computes it (an overflow, a division by zero, or an infinite constant such as a mask, which int8 cannot represent)");
            }

            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }

        ranges[name] = ranges.TryGetValue(name, out var seen) ? (Math.Min(seen.Min, min), Math.Max(seen.Max, max)) : (min, max);
    }
}
