using TinyML.Lower;

namespace TinyML.Quantize;

/// <summary>
/// What the two int8 lowerings share (the calibrated <see cref="Quantizer"/> and the <see cref="QdqLowering"/> of an
/// already quantized model): the int8 model being built, its tensors by graph name, and the steps of a weighted layer
/// that do not depend on where the parameters came from (the batch check and the per-channel requantization).
/// </summary>
public abstract class Int8Lowering : GraphLowering
{
    protected Int8Lowering(Graph graph)
        : base(graph)
    {
    }

    protected override string PrecisionName => "int8";

    protected override string ActivationInputRule => "; int8 ops take activations only";

    /// <summary>Adds the int8 tensor of graph tensor <paramref name="name"/> with its parameters; returns its id.</summary>
    protected int AddTensor(string name, float scale, int zeroPoint)
    {
        var id = _model.Tensors.Count;
        _model.Tensors.Add(new LoweredTensor { Id = id, Name = name, Shape = _graph.Tensor(name).Shape, Scale = scale, ZeroPoint = zeroPoint });
        _ids[name] = id;
        return id;
    }

    /// <summary>The int8 convolution kernels run one image (TML1004 for a batch).</summary>
    protected void RequireBatchOne(Node node, int batch)
    {
        if (batch != 1)
        {
            throw Unsupported(node, $"{node.OpType} with batch {batch} is not supported (batch 1)");
        }
    }
}
