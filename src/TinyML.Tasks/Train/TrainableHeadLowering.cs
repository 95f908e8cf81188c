namespace TinyML.Train;

/// <summary>
/// Turns the head of an int8 model into one <see cref="QTrainableHead"/>: the head's layers arrive as float32 layers
/// (the build asks the mixed-precision stage for them, so they sit between the dequantized features and a quantize of
/// the logits), consecutive and each reading the one before; they become one op over a persistent parameter tensor,
/// which the planner keeps for the whole run and across runs.
/// </summary>
public static class TrainableHeadLowering
{
    public static LoweredModel Apply(LoweredModel model, TrainableHead head, string file)
    {
        var names = head.Layers.Select(l => l.Node).ToList();
        var indices = names.Select(n => model.Ops.FindIndex(op => op is QFloatLayer { Op: FGemm } && op.NodeName == n)).ToList();
        var first = indices[0];
        var chained = indices.All(i => i >= 0) && indices.Select((i, k) => i == first + k).All(x => x)
            && Enumerable.Range(1, indices.Count - 1).All(k => model.Ops[indices[k]].Inputs[0] == model.Ops[indices[k - 1]].Output);
        if (!chained)
        {
            throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                $"the layers to train ({string.Join(", ", names)}) did not come out of quantization as one chain of float32 layers", file);
        }

        var result = model.WithoutOps();
        var parameters = new LoweredTensor
        {
            Id = result.Tensors.Count, Name = $"{names[^1]}:trained", ElementType = TensorElementType.Float32, Persistent = true,
            // A marker word (tml_head_params_f32), then the parameters.
            Shape = [1 + head.ParameterCount],
        };
        result.Tensors.Add(parameters);
        for (var i = 0; i < model.Ops.Count; i++)
        {
            if (i == first)
            {
                result.Ops.Add(new QTrainableHead
                {
                    NodeName = names[^1], Inputs = [model.Ops[first].Inputs[0], parameters.Id], Output = model.Ops[indices[^1]].Output, Layers = head.Layers, BiasOnly = head.BiasOnly,
                });
            }
            else if (!indices.Contains(i))
            {
                result.Ops.Add(model.Ops[i]);
            }
        }

        return result;
    }
}
