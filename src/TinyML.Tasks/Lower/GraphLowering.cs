using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>
/// What every lowering shares: which ONNX operators become which lowered op kind, decided once here, node by node. The
/// float32 lowering (<see cref="FloatLowering"/>), the calibrated int8 quantizer (<see cref="Quantize.Quantizer"/>) and
/// the QDQ lowering (<see cref="Quantize.QdqLowering"/>) are three ways of filling the numerics of the same ops: each
/// overrides the op kinds it has kernels for, and an op kind it leaves alone is refused with its own message
/// (<see cref="NoLowering"/>).
/// </summary>
public abstract class GraphLowering
{
    /// <summary>The optimized, shape-inferred graph being lowered.</summary>
    protected readonly Graph _graph;

    /// <summary>The lowered model being built.</summary>
    protected readonly LoweredModel _model;

    /// <summary>Graph tensor name -> id of its tensor in <see cref="_model"/>.</summary>
    protected readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    protected GraphLowering(Graph graph)
    {
        _graph = graph;
        _model = new LoweredModel { Name = graph.Name, Input = 0, Output = 0 };
    }

    /// <summary>The model file, for diagnostics.</summary>
    protected string File => _graph.SourcePath;

    /// <summary>"float" or "int8": names the precision in the error for a value no op of it produced.</summary>
    protected abstract string PrecisionName { get; }

    /// <summary>The end of the error for an op input that is not an activation (what this precision's ops take).</summary>
    protected abstract string ActivationInputRule { get; }

    /// <summary>The id of the lowered tensor of graph tensor <paramref name="name"/>: an activation some op of this
    /// precision produced (a coded error otherwise, naming <paramref name="consumer"/> or the graph output).</summary>
    protected int Id(string name, Node? consumer) =>
        _ids.TryGetValue(name, out var id) ? id
        : throw new TinyMLException(ErrorCodes.UnsupportedOp,
            consumer is null ? $"graph output '{name}' is not produced by a supported {PrecisionName} op"
                : $"input '{name}' of node '{consumer.Name}' ({consumer.OpType}) is a constant or unsupported value{ActivationInputRule}", File);

    /// <summary>Input <paramref name="input"/> of <paramref name="node"/> as a build-time float constant (TML1004 otherwise).</summary>
    protected Tensor Constant(Node node, int input) =>
        node.Inputs.Count > input && GraphEdit.Constant(_graph, node.Inputs[input]) is { FloatData: not null } t ? t
        : throw Unsupported(node, $"input {input} must be a constant float tensor");

    /// <summary>A node whose attributes or shapes the kernels do not support (TML1004).</summary>
    protected TinyMLException Unsupported(Node node, string what) =>
        new(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': {what}", File);

    /// <summary>The error for an operator this precision has no kernel for.</summary>
    protected abstract TinyMLException NoLowering(Node node);

    /// <summary>Lowers one node of the optimized graph into the model being built.</summary>
    protected void LowerNode(Node node)
    {
        switch (node.OpType)
        {
            case "Conv":
                LowerConv(node);
                break;
            case "ConvTranspose":
                LowerConvTranspose(node);
                break;
            case "Gemm":
                LowerGemm(node);
                break;
            case "MatMul":
                LowerMatMul(node);
                break;
            case "GlobalAveragePool":
                LowerGlobalAveragePool(node);
                break;
            case "MaxPool" or "AveragePool" or "GlobalMaxPool":
                LowerPool(node);
                break;
            case "Relu" or "Clip":
                LowerClamp(node);
                break;
            case "Flatten" or "Reshape" or "Squeeze" or "Unsqueeze":
                LowerReshape(node);
                break;
            case "Identity" or "Dropout":
                LowerCopy(node);
                break;
            case "Transpose":
                LowerMove(node, DataMovement.Transpose(_graph, node), 0f);
                break;
            case "Slice":
                LowerMove(node, DataMovement.Slice(_graph, node), 0f);
                break;
            case "Gather":
                LowerMove(node, DataMovement.Gather(_graph, node), 0f);
                break;
            case "Expand":
                LowerMove(node, DataMovement.Expand(_graph, node), 0f);
                break;
            case "Pad":
                var (padPlan, padValue) = DataMovement.Pad(_graph, node);
                LowerMove(node, padPlan, padValue);
                break;
            case "Concat":
                LowerConcat(node);
                break;
            case "Split":
                LowerSplit(node);
                break;
            case "Resize":
                LowerResize(node);
                break;
            case "ReduceMean" or "ReduceSum" or "ReduceMax":
                LowerReduce(node);
                break;
            case "Where":
                LowerWhere(node);
                break;
            case "Cast" when ElementwiseMath.Cast(node, File) is null:
                // To float/double: the tensor already holds (or stands for) the float values.
                LowerReshape(node);
                break;
            case "LayerNormalization":
                LowerLayerNorm(node);
                break;
            case "Add":
                LowerAdd(node);
                break;
            case "Softmax":
                LowerSoftmax(node);
                break;
            case "LogSoftmax":
                LowerLogSoftmax(node);
                break;
            case "Sub" or "Mul" or "Div" or "PRelu" or "Max" or "Min"
                or "Equal" or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual" or "And" or "Or" or "Xor":
                LowerBinary(node);
                break;
            case "Sigmoid" or "Tanh" or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Elu" or "Sqrt"
                or "Exp" or "Log" or "Neg" or "Abs" or "Sign" or "Reciprocal" or "Not" or "Cast" or "Erf" or "Gelu":
                LowerUnary(node);
                break;
            case "BatchNormalization":
                LowerBatchNorm(node);
                break;
            case "LSTM" or "GRU":
                LowerRecurrent(node);
                break;
            default:
                throw NoLowering(node);
        }
    }

    protected virtual void LowerConv(Node node) => throw NoLowering(node);

    protected virtual void LowerConvTranspose(Node node) => throw NoLowering(node);

    protected virtual void LowerGemm(Node node) => throw NoLowering(node);

    /// <summary>MatMul, whether its second input is a constant (weights) or computed at run time.</summary>
    protected virtual void LowerMatMul(Node node) => throw NoLowering(node);

    /// <summary>GlobalAveragePool: a pooling window over the whole plane unless the precision knows better.</summary>
    protected virtual void LowerGlobalAveragePool(Node node) => LowerPool(node);

    protected virtual void LowerPool(Node node) => throw NoLowering(node);

    protected virtual void LowerClamp(Node node) => throw NoLowering(node);

    /// <summary>Flatten, Reshape, Squeeze, Unsqueeze and a Cast to float: the output aliases the input's bytes.</summary>
    protected virtual void LowerReshape(Node node) => throw NoLowering(node);

    /// <summary>Identity or Dropout kept in the graph (only a graph input passed straight to a graph output survives
    /// RemoveIdentityPass): a copy.</summary>
    protected virtual void LowerCopy(Node node) => throw NoLowering(node);

    /// <summary>Transpose, Slice, Gather, Expand and Pad: one gather plan (pad value where its table says -1).</summary>
    protected virtual void LowerMove(Node node, GatherPlan plan, float padValue) => throw NoLowering(node);

    protected virtual void LowerConcat(Node node) => throw NoLowering(node);

    protected virtual void LowerSplit(Node node) => throw NoLowering(node);

    protected virtual void LowerResize(Node node) => throw NoLowering(node);

    /// <summary>ReduceMean, ReduceSum or ReduceMax.</summary>
    protected virtual void LowerReduce(Node node) => throw NoLowering(node);

    protected virtual void LowerWhere(Node node) => throw NoLowering(node);

    protected virtual void LowerLayerNorm(Node node) => throw NoLowering(node);

    protected virtual void LowerAdd(Node node) => throw NoLowering(node);

    protected virtual void LowerSoftmax(Node node) => throw NoLowering(node);

    protected virtual void LowerLogSoftmax(Node node) => throw NoLowering(node);

    /// <summary>The broadcasting two-input ops besides Add (arithmetic, comparisons, logical ops).</summary>
    protected virtual void LowerBinary(Node node) => throw NoLowering(node);

    /// <summary>The element-wise one-input ops (activations, math functions, Not, a Cast to an integer or bool type).</summary>
    protected virtual void LowerUnary(Node node) => throw NoLowering(node);

    protected virtual void LowerBatchNorm(Node node) => throw NoLowering(node);

    protected virtual void LowerRecurrent(Node node) => throw NoLowering(node);
}
