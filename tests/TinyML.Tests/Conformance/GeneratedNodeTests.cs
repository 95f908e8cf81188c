using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TinyML.Import.Onnx.Proto;
using TinyML.Quantize;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Tests.Conformance;

/// <summary>
/// ONNX node tests for operators the shared copy of onnx/backend/test/data/node leaves out (Log, Exp, Neg, Abs,
/// Sign, Reciprocal, ReduceSum, ReduceMax, the comparisons, Not/And/Or/Xor, Where, Cast), written at test time in the same
/// layout (model.onnx, test_data_set_0/input_N.pb, output_N.pb) so <see cref="OnnxNodeConformanceTests"/> runs them
/// like the shared ones. Cases named <c>test_*</c> mirror the definitions in onnx/backend/test/case/node (name, opset,
/// attributes, input types, shapes and value distributions); the input values come from a seeded generator here (no
/// numpy), and the expected outputs are ONNX Runtime's, an implementation independent of ours. Cases named
/// <c>tinyml_*</c> cover what those lack: integer casts of float values, float Equal with ties, masks computed from
/// activations and consumed by Not/And/Where/Cast.
/// </summary>
internal static class GeneratedNodeTests
{
    /// <summary>One input or initializer: exactly one of the data arrays is set, matching <see cref="Type"/>.</summary>
    private sealed record Value(string Name, DataType Type, long[] Shape)
    {
        public float[]? Floats { get; init; }
        public double[]? Doubles { get; init; }
        public long[]? Ints { get; init; }
        public bool[]? Bools { get; init; }
        public string[]? Strings { get; init; }
    }

    private sealed record NodeCase(string Name, int Opset, NodeProto[] Nodes, Value[] Inputs, string[] Outputs)
    {
        public Value[] Initializers { get; init; } = [];
    }

    /// <summary>Writes every case ONNX Runtime can run into <paramref name="root"/>; returns the case folders.</summary>
    public static IReadOnlyList<string> Write(string root)
    {
        var folders = new List<string>();
        foreach (var c in Cases())
        {
            var model = ToModel(c);
            IReadOnlyList<TensorProto> expected;
            try
            {
                expected = RunOrt(model, c);
            }
            catch (OnnxRuntimeException e)
            {
                // A case the installed ONNX Runtime cannot run has no oracle; say so rather than invent one.
                Console.WriteLine($"node test {c.Name}: ONNX Runtime cannot run it, left out ({e.Message.Split('\n')[0]})");
                continue;
            }

            var folder = Path.Combine(root, c.Name);
            var data = Path.Combine(folder, "test_data_set_0");
            Directory.CreateDirectory(data);
            File.WriteAllBytes(Path.Combine(folder, "model.onnx"), model.ToByteArray());
            for (var i = 0; i < c.Inputs.Length; i++)
            {
                File.WriteAllBytes(Path.Combine(data, $"input_{i}.pb"), ToTensor(c.Inputs[i]).ToByteArray());
            }

            for (var i = 0; i < expected.Count; i++)
            {
                File.WriteAllBytes(Path.Combine(data, $"output_{i}.pb"), expected[i].ToByteArray());
            }

            folders.Add(folder);
        }

        return folders;
    }

    private static IEnumerable<NodeCase> Cases()
    {
        var random = new Random(20240909);
        float[] Randn(int count) => Enumerable.Range(0, count).Select(_ => Gaussian(random)).ToArray();
        float[] Uniform(int count, double low, double high) => Enumerable.Range(0, count).Select(_ => (float)(low + (high - low) * random.NextDouble())).ToArray();
        Value F(string name, long[] shape, float[] data) => new(name, DataType.Float, shape) { Floats = data };
        Value RandnValue(string name, params long[] shape) => F(name, shape, Randn(Count(shape)));
        Value Bools(string name, params long[] shape) => new(name, DataType.Bool, shape) { Bools = Enumerable.Range(0, Count(shape)).Select(_ => random.Next(2) == 1).ToArray() };
        NodeCase Unary(string name, string op, Value x, int opset = 13) => new(name, opset, [Node(op, ["x"], ["y"])], [x], ["y"]);

        // Element-wise unary ops (log.py, exp.py, neg.py, abs.py, reciprocal.py).
        yield return Unary("test_abs", "Abs", RandnValue("x", 3, 4, 5));
        yield return Unary("test_exp_example", "Exp", F("x", [3], [-1f, 0f, 1f]));
        yield return Unary("test_exp", "Exp", RandnValue("x", 3, 4, 5));
        yield return Unary("test_log_example", "Log", F("x", [2], [1f, 10f]));
        yield return Unary("test_log", "Log", F("x", [3, 4, 5], Randn(60).Select(MathF.Exp).ToArray()));
        yield return Unary("test_neg_example", "Neg", F("x", [2], [-4f, 2f]));
        yield return Unary("test_neg", "Neg", RandnValue("x", 3, 4, 5));
        yield return Unary("test_reciprocal_example", "Reciprocal", F("x", [2], [-4f, 2f]));
        yield return Unary("test_reciprocal", "Reciprocal", F("x", [3, 4, 5], Uniform(60, 0.5, 1.5)));

        // ReduceSum (reducesum.py, opset 13: axes is an input) and ReduceMax (reducemax.py, opset 18: axes is an input).
        float[] Example() => Enumerable.Range(1, 12).Select(v => (float)v).ToArray();
        NodeCase Reduce(string name, string op, int opset, long[]? axes, long keepdims, float[] data, long[]? shape = null, long noop = 0)
        {
            var node = Node(op, axes is null ? ["data"] : ["data", "axes"], ["reduced"]);
            node.Attribute.Add(Int("keepdims", keepdims));
            if (noop != 0)
            {
                node.Attribute.Add(Int("noop_with_empty_axes", noop));
            }

            var inputs = new List<Value> { F("data", shape ?? [3, 2, 2], data) };
            if (axes is not null)
            {
                inputs.Add(new Value("axes", DataType.Int64, [axes.Length]) { Ints = axes });
            }

            return new NodeCase(name, opset, [node], [.. inputs], ["reduced"]);
        }

        foreach (var (op, prefix, opset) in new[] { ("ReduceSum", "test_reduce_sum", 13), ("ReduceMax", "test_reduce_max", 18) })
        {
            var defaultName = op == "ReduceMax" ? "default_axes_keepdim" : "default_axes_keepdims";
            foreach (var (suffix, axes, keepdims) in new (string, long[]?, long)[] { ("do_not_keepdims", [1], 0), ("keepdims", [1], 1), (defaultName, op == "ReduceSum" ? [] : null, 1), ("negative_axes_keepdims", [-2], 1) })
            {
                yield return Reduce($"{prefix}_{suffix}_example", op, opset, axes, keepdims, Example());
                yield return Reduce($"{prefix}_{suffix}_random", op, opset, axes, keepdims, Uniform(12, -10, 10));
            }
        }

        yield return Reduce("test_reduce_sum_empty_axes_input_noop_example", "ReduceSum", 13, [], 1, Example(), noop: 1);
        yield return Reduce("test_reduce_sum_empty_axes_input_noop_random", "ReduceSum", 13, [], 1, Uniform(12, -10, 10), noop: 1);
        yield return Reduce("test_reduce_sum_empty_set", "ReduceSum", 13, [1], 1, [], [2, 0, 4]);
        yield return Reduce("test_reduce_sum_empty_set_non_reduced_axis_zero", "ReduceSum", 13, [2], 1, [], [2, 0, 4]);
        yield return Reduce("test_reduce_max_empty_set", "ReduceMax", 20, [1], 1, [], [2, 0, 4]);
        yield return new NodeCase("test_reduce_max_bool_inputs", 20, [WithAttribute(Node("ReduceMax", ["data", "axes"], ["reduced"]), Int("keepdims", 1))],
            [new Value("data", DataType.Bool, [4, 3]) { Bools = [true, true, true, true, true, false, false, true, false, false, false, false] }, new Value("axes", DataType.Int64, [1]) { Ints = [1] }], ["reduced"]);

        // Comparisons (less.py, greater.py, less_equal.py, greater_equal.py, equal.py): float inputs, bool output.
        foreach (var (op, name, opset) in new[] { ("Less", "less", 13), ("Greater", "greater", 13), ("LessOrEqual", "less_equal", 16), ("GreaterOrEqual", "greater_equal", 16) })
        {
            yield return new NodeCase($"test_{name}", opset, [Node(op, ["x", "y"], [name])], [RandnValue("x", 3, 4, 5), RandnValue("y", 3, 4, 5)], [name]);
            yield return new NodeCase($"test_{name}_bcast", opset, [Node(op, ["x", "y"], [name])], [RandnValue("x", 3, 4, 5), RandnValue("y", 5)], [name]);
        }

        Value Int32s(string name, params long[] shape) => new(name, DataType.Int32, shape) { Ints = Enumerable.Range(0, Count(shape)).Select(_ => (long)random.Next(-24, 24)).ToArray() };
        yield return new NodeCase("test_equal", 13, [Node("Equal", ["x", "y"], ["z"])], [Int32s("x", 3, 4, 5), Int32s("y", 3, 4, 5)], ["z"]);
        yield return new NodeCase("test_equal_bcast", 13, [Node("Equal", ["x", "y"], ["z"])], [Int32s("x", 3, 4, 5), Int32s("y", 5)], ["z"]);
        yield return new NodeCase("test_equal_string", 19, [Node("Equal", ["x", "y"], ["z"])],
            [new Value("x", DataType.String, [2]) { Strings = ["string1", "string2"] }, new Value("y", DataType.String, [2]) { Strings = ["string1", "string3"] }], ["z"]);

        // Where (where.py), Not (not.py), And/Or/Xor (and.py, or.py, xor.py): bool operands.
        yield return new NodeCase("test_where_example", 16, [Node("Where", ["condition", "x", "y"], ["z"])],
            [new Value("condition", DataType.Bool, [2, 2]) { Bools = [true, false, true, true] }, F("x", [2, 2], [1, 2, 3, 4]), F("y", [2, 2], [9, 8, 7, 6])], ["z"]);
        yield return new NodeCase("test_where_long_example", 16, [Node("Where", ["condition", "x", "y"], ["z"])],
            [new Value("condition", DataType.Bool, [2, 2]) { Bools = [true, false, true, true] }, new Value("x", DataType.Int64, [2, 2]) { Ints = [1, 2, 3, 4] }, new Value("y", DataType.Int64, [2, 2]) { Ints = [9, 8, 7, 6] }], ["z"]);
        foreach (var (suffix, shape) in new (string, long[])[] { ("2d", [3, 4]), ("3d", [3, 4, 5]), ("4d", [3, 4, 5, 6]) })
        {
            yield return new NodeCase($"test_not_{suffix}", 1 + 8, [Node("Not", ["x"], ["not"])], [Bools("x", shape)], ["not"]);
        }

        foreach (var (op, name) in new[] { ("And", "and"), ("Or", "or"), ("Xor", "xor") })
        {
            foreach (var (suffix, a, b) in new (string, long[], long[])[]
            {
                ("2d", [3, 4], [3, 4]), ("3d", [3, 4, 5], [3, 4, 5]), ("4d", [3, 4, 5, 6], [3, 4, 5, 6]),
                ("_bcast3v1d", [3, 4, 5], [5]), ("_bcast3v2d", [3, 4, 5], [4, 5]), ("_bcast4v2d", [3, 4, 5, 6], [5, 6]),
                ("_bcast4v3d", [3, 4, 5, 6], [4, 5, 6]), ("_bcast4v4d", [1, 4, 1, 6], [3, 1, 5, 6]),
            })
            {
                yield return new NodeCase($"test_{name}{suffix}", 9, [Node(op, ["x", "y"], [name])], [Bools("x", a), Bools("y", b)], [name]);
            }
        }

        // Cast (cast.py): the float conversions ONNX tests. Integer targets of float values are tinyml_* below.
        foreach (var (from, to) in new[] { ("FLOAT", "DOUBLE"), ("DOUBLE", "FLOAT"), ("FLOAT", "FLOAT16"), ("FLOAT16", "FLOAT"), ("FLOAT16", "DOUBLE"), ("DOUBLE", "FLOAT16"), ("FLOAT", "STRING"), ("FLOAT", "BFLOAT16") })
        {
            var fromType = Enum.Parse<DataType>(from, ignoreCase: true);
            var toType = Enum.Parse<DataType>(to, ignoreCase: true);
            var data = Uniform(12, -10, 10);
            Value input = fromType switch
            {
                DataType.Double => new Value("input", fromType, [3, 4]) { Doubles = data.Select(v => (double)v).ToArray() },
                DataType.Float16 => new Value("input", fromType, [3, 4]) { Floats = data.Select(v => (float)(Half)v).ToArray() },
                _ => F("input", [3, 4], data),
            };
            yield return new NodeCase($"test_cast_{from}_to_{to}", 13, [WithAttribute(Node("Cast", ["input"], ["output"]), Int("to", (long)toType))], [input], ["output"]);
        }

        // tinyml_*: casts of float values to integer types and bool (truncation toward zero, as ONNX Runtime), and the
        // way masks appear in real graphs: computed from activations, combined, selected with, cast back to float.
        var castValues = Uniform(60, -130, 130).Select((v, i) => i % 7 == 0 ? MathF.Round(v) : i % 11 == 0 ? 0f : v).ToArray();
        foreach (var to in new[] { DataType.Int32, DataType.Int64, DataType.Int8, DataType.Uint8, DataType.Int16, DataType.Bool })
        {
            yield return new NodeCase($"tinyml_cast_FLOAT_to_{to.ToString().ToUpperInvariant()}", 13,
                [WithAttribute(Node("Cast", ["x"], ["c"]), Int("to", (long)to)), WithAttribute(Node("Cast", ["c"], ["y"]), Int("to", (long)DataType.Float))],
                [F("x", [3, 4, 5], castValues)], ["y"]);
        }

        var ties = Enumerable.Range(0, 60).Select(_ => (float)random.Next(-3, 4) * 0.5f).ToArray();
        var ties2 = Enumerable.Range(0, 60).Select(_ => (float)random.Next(-3, 4) * 0.5f).ToArray();
        yield return new NodeCase("tinyml_equal_float", 13, [Node("Equal", ["x", "y"], ["z"])], [F("x", [3, 4, 5], ties), F("y", [3, 4, 5], ties2)], ["z"]);
        yield return new NodeCase("tinyml_less_equal_float_ties", 16, [Node("LessOrEqual", ["x", "y"], ["z"])], [F("x", [3, 4, 5], ties), F("y", [3, 4, 5], ties2)], ["z"]);
        yield return new NodeCase("tinyml_mask_chain", 16,
        [
            Node("Less", ["x", "y"], ["less"]),
            Node("Not", ["less"], ["not_less"]),
            Node("GreaterOrEqual", ["x", "zero"], ["positive"]),
            Node("And", ["not_less", "positive"], ["both"]),
            Node("Or", ["both", "less"], ["either"]),
            Node("Xor", ["either", "positive"], ["odd"]),
            Node("Where", ["both", "x", "y"], ["picked"]),
            WithAttribute(Node("Cast", ["odd"], ["odd_f"]), Int("to", (long)DataType.Float)),
            Node("Mul", ["picked", "odd_f"], ["out"]),
        ], [RandnValue("x", 3, 4, 5), RandnValue("y", 3, 4, 5)], ["out", "both"])
        {
            Initializers = [F("zero", [], [0f])],
        };
        yield return new NodeCase("tinyml_where_constant_branches", 16,
        [
            Node("Greater", ["x", "threshold"], ["mask"]),
            Node("Where", ["mask", "x", "fill"], ["y"]),
        ], [RandnValue("x", 2, 3, 4)], ["y"])
        {
            Initializers = [F("threshold", [4], [-0.5f, 0f, 0.25f, 1f]), F("fill", [], [-7.5f])],
        };
        yield return new NodeCase("tinyml_log_mel_tail", 13,
        [
            Node("Abs", ["x"], ["magnitude"]),
            Node("Max", ["magnitude", "eps"], ["floored"]),
            Node("Log", ["floored"], ["log"]),
            Node("Neg", ["log"], ["negated"]),
            Node("Exp", ["negated"], ["inverse"]),
            Node("Reciprocal", ["inverse"], ["back"]),
            WithAttribute(Node("ReduceMax", ["back"], ["peak"]), Ints("axes", 2)),
            Node("ReduceSum", ["back", "axes"], ["total"]),
            Node("Sub", ["total", "peak"], ["y"]),
        ], [RandnValue("x", 2, 3, 8)], ["y"])
        {
            Initializers = [F("eps", [], [1e-3f]), new Value("axes", DataType.Int64, [1]) { Ints = [2] }],
        };

        // Sign (sign.py: -5..5), and the binary activation of a binarized network: Sign of a ReLU-free activation with
        // exact zeros in it.
        yield return Unary("test_sign", "Sign", F("x", [11], Enumerable.Range(-5, 11).Select(v => (float)v).ToArray()), opset: 9);
        yield return Unary("tinyml_sign_with_zeros", "Sign", F("x", [2, 3, 8], Randn(48).Select((v, i) => i % 5 == 0 ? 0f : v).ToArray()));
    }

    private static ModelProto ToModel(NodeCase c)
    {
        var graph = new GraphProto { Name = c.Name };
        graph.Node.AddRange(c.Nodes);
        foreach (var input in c.Inputs)
        {
            graph.Input.Add(ValueInfo(input.Name, input.Type, input.Shape));
        }

        graph.Initializer.AddRange(c.Initializers.Select(ToTensor));
        foreach (var output in c.Outputs)
        {
            graph.Output.Add(new ValueInfoProto { Name = output });
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = "tinyml-node-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = c.Opset });
        return model;
    }

    /// <summary>Runs the case in ONNX Runtime; the outputs become the expected TensorProtos (with their ONNX types).</summary>
    private static IReadOnlyList<TensorProto> RunOrt(ModelProto model, NodeCase c)
    {
        using var options = OrtSessions.DeterministicOptions();
        using var session = new InferenceSession(model.ToByteArray(), options);
        var inputs = c.Inputs.Select(ToOrt).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, c.Inputs.Select(i => i.Name).ToList(), inputs, c.Outputs);
            return outputs.Select((o, i) => FromOrt(c.Outputs[i], o)).ToList();
        }
        finally
        {
            inputs.ForEach(v => v.Dispose());
        }
    }

    private static OrtValue ToOrt(Value v) => v.Type switch
    {
        DataType.Float => OrtValue.CreateTensorValueFromMemory(v.Floats!, v.Shape),
        DataType.Double => OrtValue.CreateTensorValueFromMemory(v.Doubles!, v.Shape),
        DataType.Float16 => OrtValue.CreateTensorValueFromMemory(v.Floats!.Select(f => (Float16)(float)f).ToArray(), v.Shape),
        DataType.Bool => OrtValue.CreateTensorValueFromMemory(v.Bools!, v.Shape),
        DataType.Int32 => OrtValue.CreateTensorValueFromMemory(v.Ints!.Select(i => (int)i).ToArray(), v.Shape),
        DataType.Int64 => OrtValue.CreateTensorValueFromMemory(v.Ints!, v.Shape),
        DataType.String => OrtValue.CreateFromStringTensor(new DenseTensor<string>(v.Strings!, v.Shape.Select(d => (int)d).ToArray())),
        _ => throw new NotSupportedException($"input type {v.Type}"),
    };

    private static TensorProto FromOrt(string name, OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var tensor = new TensorProto { Name = name };
        tensor.Dims.AddRange(info.Shape);
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                tensor.DataType = (int)DataType.Float;
                tensor.FloatData.AddRange(value.GetTensorDataAsSpan<float>().ToArray());
                break;
            case TensorElementType.Double:
                tensor.DataType = (int)DataType.Double;
                tensor.DoubleData.AddRange(value.GetTensorDataAsSpan<double>().ToArray());
                break;
            case TensorElementType.Float16:
                tensor.DataType = (int)DataType.Float16;
                tensor.Int32Data.AddRange(value.GetTensorDataAsSpan<Float16>().ToArray().Select(h => (int)h.value));
                break;
            case TensorElementType.BFloat16:
                tensor.DataType = (int)DataType.Bfloat16;
                tensor.Int32Data.AddRange(value.GetTensorDataAsSpan<BFloat16>().ToArray().Select(h => (int)h.value));
                break;
            case TensorElementType.Bool:
                tensor.DataType = (int)DataType.Bool;
                tensor.Int32Data.AddRange(value.GetTensorDataAsSpan<bool>().ToArray().Select(b => b ? 1 : 0));
                break;
            case TensorElementType.Int32:
                tensor.DataType = (int)DataType.Int32;
                tensor.Int32Data.AddRange(value.GetTensorDataAsSpan<int>().ToArray());
                break;
            case TensorElementType.Int64:
                tensor.DataType = (int)DataType.Int64;
                tensor.Int64Data.AddRange(value.GetTensorDataAsSpan<long>().ToArray());
                break;
            case TensorElementType.String:
                tensor.DataType = (int)DataType.String;
                tensor.StringData.AddRange(value.GetStringTensorAsArray().Select(ByteString.CopyFromUtf8));
                break;
            default:
                throw new NotSupportedException($"output type {info.ElementDataType}");
        }

        return tensor;
    }

    private static TensorProto ToTensor(Value v)
    {
        var tensor = new TensorProto { Name = v.Name, DataType = (int)v.Type };
        tensor.Dims.AddRange(v.Shape);
        switch (v.Type)
        {
            case DataType.Float:
                tensor.FloatData.AddRange(v.Floats!);
                break;
            case DataType.Double:
                tensor.DoubleData.AddRange(v.Doubles!);
                break;
            case DataType.Float16:
                tensor.Int32Data.AddRange(v.Floats!.Select(f => (int)BitConverter.HalfToUInt16Bits((Half)f)));
                break;
            case DataType.Bool:
                tensor.Int32Data.AddRange(v.Bools!.Select(b => b ? 1 : 0));
                break;
            case DataType.Int32:
                tensor.Int32Data.AddRange(v.Ints!.Select(i => (int)i));
                break;
            case DataType.Int64:
                tensor.Int64Data.AddRange(v.Ints!);
                break;
            case DataType.String:
                tensor.StringData.AddRange(v.Strings!.Select(ByteString.CopyFromUtf8));
                break;
            default:
                throw new NotSupportedException($"value type {v.Type}");
        }

        return tensor;
    }

    /// <summary>
    /// A node test's expected output as floats for the comparison (bool = 0/1, integers and double converted exactly
    /// where float32 can hold them, float16/bfloat16 widened); null for a type with no float form (string).
    /// </summary>
    public static float[]? ExpectedAsFloats(TensorProto t) => (DataType)t.DataType switch
    {
        DataType.Float => t.HasRawData ? Raw(t, 4, b => BitConverter.ToSingle(b)) : t.FloatData.ToArray(),
        DataType.Double => t.HasRawData ? Raw(t, 8, b => (float)BitConverter.ToDouble(b)) : t.DoubleData.Select(d => (float)d).ToArray(),
        DataType.Int64 => t.HasRawData ? Raw(t, 8, b => (float)BitConverter.ToInt64(b)) : t.Int64Data.Select(v => (float)v).ToArray(),
        DataType.Uint64 or DataType.Uint32 => t.HasRawData ? Raw(t, t.DataType == (int)DataType.Uint64 ? 8 : 4, b => b.Length == 8 ? BitConverter.ToUInt64(b) : BitConverter.ToUInt32(b)) : t.Uint64Data.Select(v => (float)v).ToArray(),
        DataType.Int32 => t.HasRawData ? Raw(t, 4, b => BitConverter.ToInt32(b)) : t.Int32Data.Select(v => (float)v).ToArray(),
        DataType.Int16 => t.HasRawData ? Raw(t, 2, b => BitConverter.ToInt16(b)) : t.Int32Data.Select(v => (float)(short)v).ToArray(),
        DataType.Uint16 => t.HasRawData ? Raw(t, 2, b => BitConverter.ToUInt16(b)) : t.Int32Data.Select(v => (float)(ushort)v).ToArray(),
        DataType.Int8 => t.HasRawData ? Raw(t, 1, b => (sbyte)b[0]) : t.Int32Data.Select(v => (float)(sbyte)v).ToArray(),
        DataType.Uint8 => t.HasRawData ? Raw(t, 1, b => b[0]) : t.Int32Data.Select(v => (float)(byte)v).ToArray(),
        DataType.Bool => t.HasRawData ? Raw(t, 1, b => b[0] != 0 ? 1f : 0f) : t.Int32Data.Select(v => v != 0 ? 1f : 0f).ToArray(),
        DataType.Float16 => t.HasRawData ? Raw(t, 2, b => (float)BitConverter.ToHalf(b)) : t.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(),
        DataType.Bfloat16 => t.HasRawData ? Raw(t, 2, b => BitConverter.UInt32BitsToSingle((uint)BitConverter.ToUInt16(b) << 16)) : t.Int32Data.Select(v => BitConverter.UInt32BitsToSingle((uint)(ushort)v << 16)).ToArray(),
        _ => null,
    };

    private static float[] Raw(TensorProto t, int size, Func<byte[], float> read)
    {
        var bytes = t.RawData.ToByteArray();
        return Enumerable.Range(0, bytes.Length / size).Select(i => read(bytes.AsSpan(i * size, size).ToArray())).ToArray();
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, long[] shape)
    {
        var dims = new TensorShapeProto();
        dims.Dim.AddRange(shape.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = dims } } };
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = $"{op.ToLowerInvariant()}_{outputs[0]}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static NodeProto WithAttribute(NodeProto node, AttributeProto attribute)
    {
        node.Attribute.Add(attribute);
        return node;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private static int Count(long[] shape) => (int)shape.Aggregate(1L, (p, d) => p * d);

    /// <summary>Standard normal (Box-Muller), like numpy.random.randn.</summary>
    private static float Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
