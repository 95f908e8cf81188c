using System.Runtime.InteropServices;

namespace TinyML.Reference;

/// <summary>
/// Runs a <see cref="LoweredModel"/> op by op with <see cref="Int8Kernels"/>: the bit-exact reference the
/// generated C is compared against.
/// </summary>
public static class Int8Interpreter
{
    /// <summary>Runs the model and returns the bytes of its output tensor.</summary>
    public static sbyte[] Run(LoweredModel model, ReadOnlySpan<sbyte> input) => RunAll(model, input)[model.Output];

    /// <summary>Runs a model with several inputs (<see cref="LoweredModel.Inputs"/> order); returns every output in
    /// <see cref="LoweredModel.Outputs"/> order.</summary>
    public static IReadOnlyList<sbyte[]> RunMulti(LoweredModel model, IReadOnlyList<sbyte[]> inputs)
    {
        var all = RunAll(model, inputs);
        return model.Outputs.Select(o => all[o]).ToList();
    }

    /// <summary>
    /// Runs the model and returns every tensor's bytes by <see cref="LoweredTensor.Id"/>, each as it was right after the
    /// op that produced it (so an in-place op later on does not rewrite what an earlier tensor held).
    /// Tensors with <see cref="LoweredTensor.AliasOf"/> share storage with their alias root, as they will in C.
    /// </summary>
    /// <remarks>Further inputs of a multi-input model (an RNN's state in) get their zero point, i.e. real 0 - the
    /// same default calibration feeds them.</remarks>
    public static IReadOnlyDictionary<int, sbyte[]> RunAll(LoweredModel model, ReadOnlySpan<sbyte> input)
    {
        ArgumentNullException.ThrowIfNull(model);
        var inputs = new List<sbyte[]> { input.ToArray() };
        inputs.AddRange(model.ExtraInputs.Select(id => Enumerable.Repeat((sbyte)model.Tensors[id].ZeroPoint, model.Tensors[id].Bytes).ToArray()));
        return RunAll(model, inputs);
    }

    /// <summary>As <see cref="RunAll(LoweredModel, ReadOnlySpan{sbyte})"/> with one byte array per model input.</summary>
    public static IReadOnlyDictionary<int, sbyte[]> RunAll(LoweredModel model, IReadOnlyList<sbyte[]> inputs) => RunAll(model, inputs, fusedMultiplyAdd: false);

    /// <summary>
    /// As <see cref="RunAll(LoweredModel, IReadOnlyList{sbyte[]})"/>; <paramref name="fusedMultiplyAdd"/> runs the
    /// float32 layers of a mixed-precision model as a Cortex-M4F does (vfma.f32) instead of as the host C does. A float32
    /// tensor's entry holds its bytes in host order.
    /// </summary>
    public static IReadOnlyDictionary<int, sbyte[]> RunAll(LoweredModel model, IReadOnlyList<sbyte[]> inputs, bool fusedMultiplyAdd)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        return Run(TensorsById(model), model.Inputs, inputs, model.Ops, fusedMultiplyAdd);
    }

    /// <summary>
    /// Runs one op of a model on the given bytes of its inputs (<paramref name="inputIds"/>, each stored as in
    /// <see cref="RunAll(LoweredModel, IReadOnlyList{sbyte[]})"/>) and returns its output's bytes. Costs the op
    /// alone, not the model's size: the accuracy report runs every layer of every sample this way.
    /// </summary>
    internal static sbyte[] RunOp(IReadOnlyList<LoweredTensor> tensorsById, LoweredOp op, IReadOnlyList<int> inputIds, IReadOnlyList<sbyte[]> inputs) =>
        Run(tensorsById, inputIds, inputs, [op], fusedMultiplyAdd: false)[op.Output];

    /// <summary>The model's tensors indexed by <see cref="LoweredTensor.Id"/> (the list itself when ids are positions, as the quantizer makes them).</summary>
    internal static IReadOnlyList<LoweredTensor> TensorsById(LoweredModel model)
    {
        var inOrder = true;
        for (var i = 0; i < model.Tensors.Count && inOrder; i++)
        {
            inOrder = model.Tensors[i].Id == i;
        }

        if (inOrder)
        {
            return model.Tensors;
        }

        var byId = new LoweredTensor[model.Tensors.Count == 0 ? 0 : model.Tensors.Max(t => t.Id) + 1];
        foreach (var tensor in model.Tensors)
        {
            byId[tensor.Id] = tensor;
        }

        return byId;
    }

    private static Dictionary<int, sbyte[]> Run(IReadOnlyList<LoweredTensor> tensors, IReadOnlyList<int> inputIds, IReadOnlyList<sbyte[]> inputs,
        IEnumerable<LoweredOp> ops, bool fusedMultiplyAdd)
    {
        var storage = new Dictionary<int, sbyte[]>();

        sbyte[] StorageOf(int id)
        {
            int root = AliasRoot(tensors, id);
            if (!storage.TryGetValue(root, out var bytes))
            {
                bytes = new sbyte[tensors[root].Bytes];
                storage[root] = bytes;
            }

            if (tensors[id].Bytes > bytes.Length)
            {
                throw new InvalidOperationException(
                    $"tensor {id} '{tensors[id].Name}' ({tensors[id].Bytes} bytes) is larger than its alias root {root} ({bytes.Length} bytes)");
            }

            return bytes;
        }

        Span<sbyte> Tensor(int id) => StorageOf(id).AsSpan(0, tensors[id].Bytes);

        if (inputs.Count != inputIds.Count)
        {
            throw new ArgumentException($"{inputs.Count} inputs given, the model has {inputIds.Count}", nameof(inputs));
        }

        var results = new Dictionary<int, sbyte[]>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var inputTensor = tensors[inputIds[i]];
            if (inputs[i].Length != inputTensor.Bytes)
            {
                throw new ArgumentException($"input {i} holds {inputs[i].Length} bytes, model input '{inputTensor.Name}' needs {inputTensor.Bytes}", nameof(inputs));
            }

            inputs[i].CopyTo(Tensor(inputIds[i]));
            results[inputIds[i]] = inputs[i].ToArray();
        }

        foreach (var op in ops)
        {
            if (op is TiledStageOp stage)
            {
                RunTiled(stage, tensors, Tensor, fusedMultiplyAdd);
            }
            else
            {
                Execute(op, Tensor, fusedMultiplyAdd);
            }

            results[op.Output] = Tensor(op.Output).ToArray();
        }

        return results;
    }

    private delegate Span<sbyte> TensorAccessor(int id);

    /// <summary>
    /// A tiled stage as the firmware runs it, in one block of the tile's working memory laid out as the firmware's
    /// (<see cref="TiledStageOp.Layout"/>: a layout that let two live bands overlap would change the bytes): per tile,
    /// the rows of the tensors from outside gathered into bands, each op's band form on the bands
    /// (<see cref="TiledStageOp.TileOps"/>), a reader whose window is less than its input's band on a copy of its rows
    /// (a view), a cached tensor's band put together from the rows kept from the tile before and those just computed,
    /// the tile's rows of the output scattered into the whole output. The stage's other tensors never exist whole.
    /// </summary>
    private static void RunTiled(TiledStageOp stage, IReadOnlyList<LoweredTensor> tensors, TensorAccessor whole, bool fusedMultiplyAdd)
    {
        var memory = new sbyte[stage.TileBytes];
        var layout = stage.Layout;
        ArraySegment<sbyte> Block(int offset, int tensor, int rows) => new(memory, offset, Plan.Tiling.RowTiling.BandBytes(tensors[tensor], rows));
        int[] BandShape(int tensor, int height) => [1, tensors[tensor].Shape[1], height, tensors[tensor].Shape[3]];
        for (var k = 0; k < stage.Stage.TileCount; k++)
        {
            var rows = stage.Stage.Tiles[k];
            var bands = new Dictionary<int, ArraySegment<sbyte>>();
            ArraySegment<sbyte> Band(int tensor) => Block(layout.BandOffset[tensor], tensor, rows[tensor].End - rows[tensor].Start);
            foreach (var input in stage.Stage.Inputs.Where(rows.ContainsKey))
            {
                bands[input] = Band(input);
                Plan.Tiling.RowBandCopy.Gather(whole(input), bands[input], tensors[input].Shape, rows[input]);
            }

            for (var j = 0; j < stage.Ops.Count; j++)
            {
                var output = stage.Ops[j].Output;
                var cached = stage.Stage.IsCached(output);
                var v = stage.VariantOf(k, j);
                ArraySegment<sbyte>? computed = null;
                if (v >= 0)
                {
                    var index = stage.Stage.FirstOp + j;
                    var views = new Dictionary<int, ArraySegment<sbyte>>();
                    foreach (var input in stage.Ops[j].Inputs)
                    {
                        if (stage.Stage.ViewOf(k, index, input) is { } viewed)
                        {
                            var band = rows[input];
                            views[input] = Block(layout.ViewOffset[(index, input)], input, viewed.End - viewed.Start);
                            Plan.Tiling.RowBandCopy.Gather(bands[input], views[input], BandShape(input, band.End - band.Start), (viewed.Start - band.Start, viewed.End - band.Start));
                        }
                    }

                    var computedRows = stage.Stage.ComputedRows(k, output)!.Value;
                    var target = Block(cached ? layout.ComputedOffset[output] : layout.BandOffset[output], output, computedRows.End - computedRows.Start);
                    Execute(stage.Variant(j, v), id => id == output ? target : views.TryGetValue(id, out var view) ? view : bands[id], fusedMultiplyAdd);
                    computed = target;
                }

                if (!cached || !rows.ContainsKey(output))
                {
                    if (computed is { } band)
                    {
                        bands[output] = band;
                    }

                    continue;
                }

                // The band: the rows kept from the tile before, then the rows computed; then what the next tile keeps.
                var bandRows = rows[output].End - rows[output].Start;
                var kept = stage.Stage.KeptRows(k, output);
                bands[output] = Band(output);
                if (kept > 0)
                {
                    Plan.Tiling.RowBandCopy.Scatter(Block(layout.CacheOffset[output], output, kept), bands[output], BandShape(output, bandRows), (0, kept));
                }

                if (computed is { } fresh)
                {
                    Plan.Tiling.RowBandCopy.Scatter(fresh, bands[output], BandShape(output, bandRows), (kept, bandRows));
                }

                if (stage.Stage.RowsToKeep(k, output) is { } keep)
                {
                    Plan.Tiling.RowBandCopy.Gather(bands[output], Block(layout.CacheOffset[output], output, keep.Rows), BandShape(output, bandRows), (keep.Offset, keep.Offset + keep.Rows));
                }
            }

            Plan.Tiling.RowBandCopy.Scatter(bands[stage.Output], whole(stage.Output), tensors[stage.Output].Shape, rows[stage.Output]);
        }
    }

    private static void Execute(LoweredOp op, TensorAccessor tensor, bool fusedMultiplyAdd)
    {
        switch (op)
        {
            case QFloatLayer layer:
                MixedPrecisionKernels.Run(layer, id => MixedPrecisionKernels.AsFloat(tensor(layer.TensorMap[id])), fusedMultiplyAdd);
                break;
            case QTrainableHead head:
                // The model's own values: what the firmware's arena holds until a learn call changes them.
                new Train.HeadTrainer(head.Head).Forward(MixedPrecisionKernels.AsFloat(tensor(head.Inputs[0])))
                    .CopyTo(MixedPrecisionKernels.AsFloat(tensor(head.Output)));
                break;
            case QFullyConnected fc:
                for (var row = 0; row < fc.Geometry.Rows; row++)
                {
                    Int8Kernels.FullyConnected(fc, tensor(fc.Inputs[0]).Slice(row * fc.Geometry.InFeatures, fc.Geometry.InFeatures), tensor(fc.Output).Slice(row * fc.Geometry.OutFeatures, fc.Geometry.OutFeatures));
                }

                break;
            case QBinary binary:
                Int8ElementwiseKernels.Binary(binary, Operand(tensor, binary.Geometry.A, binary.ConstantA), Operand(tensor, binary.Geometry.B, binary.ConstantB), tensor(binary.Output));
                break;
            case QGather gather:
                foreach (var part in gather.Parts)
                {
                    Int8Kernels.Gather(part, gather.PadValue, Operand(tensor, part.Source, part.Constant), tensor(gather.Output));
                }

                break;
            case QRecurrent rnn:
                ExecuteRecurrent(rnn, tensor);
                break;
            case QWhere where:
                Int8ElementwiseKernels.Where(
                    where, Operand(tensor, where.Geometry.C, where.ConstantC), Operand(tensor, where.Geometry.X, where.ConstantX), Operand(tensor, where.Geometry.Y, where.ConstantY), tensor(where.Output));
                break;
            case QReshape reshape:
                // Zero-copy when the output aliases the input; otherwise the bytes are copied unchanged.
                var source = tensor(reshape.Inputs[0]);
                var destination = tensor(reshape.Output);
                // An LSTM/GRU Y is the head of a larger packed buffer (QRecurrent), so the source may be longer.
                if (source.Length < destination.Length || !IsPackedHead(source, destination))
                {
                    throw new InvalidOperationException($"reshape '{op.NodeName}' changes the size from {source.Length} to {destination.Length} bytes");
                }

                source[..destination.Length].CopyTo(destination);
                break;
            default:
                if (!Kernels.TryGetValue(op.GetType(), out var kernel))
                {
                    throw new NotSupportedException($"op '{op.NodeName}' of type {op.GetType().Name} has no reference kernel");
                }

                kernel(op, tensor);
                break;
        }
    }

    private delegate void OneInputKernel<in T, TIn, TOut>(T op, ReadOnlySpan<TIn> input, Span<TOut> output);

    private delegate void TwoInputKernel<in T>(T op, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output);

    /// <summary>The ops whose kernel reads its inputs and writes its output and nothing more, with that kernel; the
    /// arena bytes are viewed as the element type each side holds (int8, int16, float32).</summary>
    private static readonly Dictionary<Type, Action<LoweredOp, TensorAccessor>> Kernels = new[]
    {
        OneInput<QConv2D>(Int8Kernels.Conv2D),
        OneInput<QConvTranspose2D>(Int8Kernels.ConvTranspose2D),
        OneInput<QPool>(Int8Kernels.Pool),
        OneInput<QSoftmax>(Int8Kernels.Softmax),
        OneInput<QLut>(Int8ElementwiseKernels.Lut),
        OneInput<QClamp>(Int8Kernels.Clamp),
        OneInput<QResizeBilinear>(Int8Kernels.ResizeBilinear),
        OneInput<QLayerNorm>(Int8Kernels.LayerNorm),
        OneInput<QReduceMean>(Int8Kernels.ReduceMean),
        OneInput<QReduceMax>(Int8ElementwiseKernels.ReduceMax),
        OneInput<QDequantize, sbyte, float>(MixedPrecisionKernels.Dequantize),
        OneInput<QQuantize, float, sbyte>(MixedPrecisionKernels.Quantize),
        OneInput<QRequantizeS8S16, sbyte, short>(Int16x8Kernels.Widen),
        OneInput<QRequantizeS16S8, short, sbyte>(Int16x8Kernels.Narrow),
        OneInput<QInt16x8Layer, short, short>(Int16x8Kernels.Run),
        TwoInputs<QAdd>(Int8Kernels.Add),
        TwoInputs<QBatchMatMul>(Int8Kernels.BatchMatMul),
    }.ToDictionary();

    private static KeyValuePair<Type, Action<LoweredOp, TensorAccessor>> OneInput<T>(OneInputKernel<T, sbyte, sbyte> kernel) where T : LoweredOp =>
        OneInput<T, sbyte, sbyte>(kernel);

    private static KeyValuePair<Type, Action<LoweredOp, TensorAccessor>> OneInput<T, TIn, TOut>(OneInputKernel<T, TIn, TOut> kernel)
        where T : LoweredOp where TIn : struct where TOut : struct =>
        new(typeof(T), (op, tensor) => kernel((T)op, MemoryMarshal.Cast<sbyte, TIn>(tensor(op.Inputs[0])), MemoryMarshal.Cast<sbyte, TOut>(tensor(op.Output))));

    private static KeyValuePair<Type, Action<LoweredOp, TensorAccessor>> TwoInputs<T>(TwoInputKernel<T> kernel) where T : LoweredOp =>
        new(typeof(T), (op, tensor) => kernel((T)op, tensor(op.Inputs[0]), tensor(op.Inputs[1]), tensor(op.Output)));

    /// <summary>An operand that is an arena tensor, or else the constant the op carries in its place.</summary>
    private static ReadOnlySpan<sbyte> Operand(TensorAccessor tensor, int? id, sbyte[]? constant) => id is { } t ? tensor(t) : constant;

    /// <summary>Same size, or the destination is the aliased start of the source (a recurrent op's Y).</summary>
    private static bool IsPackedHead(Span<sbyte> source, Span<sbyte> destination) =>
        source.Length == destination.Length || source.Overlaps(destination, out var offset) && offset == 0;

    /// <summary>tml_lstm_s8/tml_gru_s8 on the packed output: Y, final c, then the float scratch (host byte order, as in C).</summary>
    private static void ExecuteRecurrent(QRecurrent rnn, TensorAccessor tensor)
    {
        var packed = tensor(rnn.Output);
        var y = packed[..(rnn.Geometry.Seq * rnn.Geometry.Hidden)];
        var scratch = MemoryMarshal.Cast<sbyte, float>(packed.Slice(rnn.ScratchOffset, 4 * rnn.ScratchFloats));
        var initialH = Operand(tensor, rnn.InitialHInput, rnn.InitialH);
        if (rnn.Geometry.Kind == RecurrentKind.Lstm)
        {
            Int8Recurrent.Lstm(rnn, tensor(rnn.Inputs[0]), initialH, Operand(tensor, rnn.InitialCInput, rnn.InitialC), y, packed.Slice(rnn.CellOffset, rnn.Geometry.Hidden), scratch);
        }
        else
        {
            Int8Recurrent.Gru(rnn, tensor(rnn.Inputs[0]), initialH, y, scratch);
        }
    }

    private static int AliasRoot(IReadOnlyList<LoweredTensor> tensors, int id)
    {
        int current = id;
        for (int hops = 0; tensors[current].AliasOf is int next; hops++)
        {
            if (hops > tensors.Count)
            {
                throw new InvalidOperationException($"alias cycle through tensor {id}");
            }

            current = next;
        }

        return current;
    }
}
