using TinyML.Ir;

namespace TinyML.Reference;

/// <summary>
/// Runs a <see cref="QuantizedModel"/> op by op with <see cref="Int8Kernels"/>: the bit-exact reference the
/// generated C is compared against.
/// </summary>
public static class Int8Interpreter
{
    /// <summary>Runs the model and returns the bytes of its output tensor.</summary>
    public static sbyte[] Run(QuantizedModel model, ReadOnlySpan<sbyte> input) => RunAll(model, input)[model.Output];

    /// <summary>
    /// Runs the model and returns every tensor's bytes by <see cref="QTensor.Id"/>, each as it was right after the
    /// op that produced it (so an in-place op later on does not rewrite what an earlier tensor held).
    /// Tensors with <see cref="QTensor.AliasOf"/> share storage with their alias root, as they will in C.
    /// </summary>
    public static IReadOnlyDictionary<int, sbyte[]> RunAll(QuantizedModel model, ReadOnlySpan<sbyte> input)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = model.Tensors.ToDictionary(t => t.Id);
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

        var inputTensor = tensors[model.Input];
        if (input.Length != inputTensor.Bytes)
        {
            throw new ArgumentException($"input holds {input.Length} bytes, model input '{inputTensor.Name}' needs {inputTensor.Bytes}", nameof(input));
        }

        var results = new Dictionary<int, sbyte[]>();
        input.CopyTo(Tensor(model.Input));
        results[model.Input] = input.ToArray();

        foreach (var op in model.Ops)
        {
            Execute(op, Tensor);
            results[op.Output] = Tensor(op.Output).ToArray();
        }

        return results;
    }

    private delegate Span<sbyte> TensorAccessor(int id);

    private static void Execute(QOp op, TensorAccessor tensor)
    {
        switch (op)
        {
            case QConv2D conv:
                Int8Kernels.Conv2D(conv, tensor(conv.Inputs[0]), tensor(conv.Output));
                break;
            case QFullyConnected fc:
                Int8Kernels.FullyConnected(fc, tensor(fc.Inputs[0]), tensor(fc.Output));
                break;
            case QPool pool:
                Int8Kernels.Pool(pool, tensor(pool.Inputs[0]), tensor(pool.Output));
                break;
            case QAdd add:
                Int8Kernels.Add(add, tensor(add.Inputs[0]), tensor(add.Inputs[1]), tensor(add.Output));
                break;
            case QSoftmax softmax:
                Int8Kernels.Softmax(softmax, tensor(softmax.Inputs[0]), tensor(softmax.Output));
                break;
            case QLut lut:
                Int8ElementwiseKernels.Lut(lut, tensor(lut.Inputs[0]), tensor(lut.Output));
                break;
            case QBinary binary:
                Int8ElementwiseKernels.Binary(
                    binary,
                    binary.A is { } a ? (ReadOnlySpan<sbyte>)tensor(a) : binary.ConstantA,
                    binary.B is { } b ? (ReadOnlySpan<sbyte>)tensor(b) : binary.ConstantB,
                    tensor(binary.Output));
                break;
            case QClamp clamp:
                Int8Kernels.Clamp(clamp, tensor(clamp.Inputs[0]), tensor(clamp.Output));
                break;
            case QGather gather:
                foreach (var part in gather.Parts)
                {
                    Int8Kernels.Gather(part, gather.PadValue, part.Source is { } sourceId ? tensor(sourceId) : part.Constant, tensor(gather.Output));
                }

                break;
            case QResizeBilinear resize:
                Int8Kernels.ResizeBilinear(resize, tensor(resize.Inputs[0]), tensor(resize.Output));
                break;
            case QLayerNorm layerNorm:
                Int8Kernels.LayerNorm(layerNorm, tensor(layerNorm.Inputs[0]), tensor(layerNorm.Output));
                break;
            case QReduceMean mean:
                Int8Kernels.ReduceMean(mean, tensor(mean.Inputs[0]), tensor(mean.Output));
                break;
            case QReshape reshape:
                // Zero-copy when the output aliases the input; otherwise the bytes are copied unchanged.
                var source = tensor(reshape.Inputs[0]);
                var destination = tensor(reshape.Output);
                if (source.Length != destination.Length)
                {
                    throw new InvalidOperationException($"reshape '{op.NodeName}' changes the size from {source.Length} to {destination.Length} bytes");
                }

                source.CopyTo(destination);
                break;
            default:
                throw new NotSupportedException($"op '{op.NodeName}' of type {op.GetType().Name} has no reference kernel");
        }
    }

    private static int AliasRoot(Dictionary<int, QTensor> tensors, int id)
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
