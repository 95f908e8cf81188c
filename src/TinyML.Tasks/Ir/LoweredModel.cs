namespace TinyML.Ir;

/// <summary>
/// An activation tensor of the lowered model. Layout is the ONNX layout (NCHW for images), row-major. An int8 tensor's
/// real value is Scale * (q - ZeroPoint) (TFLite int8 spec: asymmetric per-tensor activations); an int16 tensor is
/// symmetric (zero point 0); a float32 tensor holds its values.
/// </summary>
public sealed class LoweredTensor
{
    public required int Id { get; init; }
    public required string Name { get; init; }
    public required int[] Shape { get; init; }

    /// <summary>The element type every op that reads or writes this tensor agrees on.</summary>
    public TensorElementType ElementType { get; init; } = TensorElementType.Int8;

    /// <summary>Quantization of an int8/int16 tensor. A float32 tensor of a float layer inside an int8 model keeps those
    /// of the int8 tensor it stands for (the accuracy report ignores them); a float model's tensors leave them 1 and 0.</summary>
    public float Scale { get; init; } = 1f;

    public int ZeroPoint { get; init; }

    /// <summary>
    /// Only its sign is read: every reader is a Sign (the pre-activation of a binarized network). Its quantization keeps
    /// every nonzero sum nonzero with its sign rather than the calibrated range (<see cref="Quantize.SignActivations"/>),
    /// so its values saturate; the accuracy report compares signs.
    /// </summary>
    public bool SignOnly { get; set; }

    /// <summary>Lives in the arena for the whole run and across runs (the parameters on-device learning changes,
    /// <see cref="QTrainableHead"/>): the planner never gives its bytes to another tensor.</summary>
    public bool Persistent { get; init; }

    /// <summary>When set, this tensor shares the bytes of another tensor (Reshape/Flatten are zero-copy).</summary>
    public int? AliasOf { get; set; }

    public int ElementCount => Shape.Aggregate(1, (a, b) => a * b);

    public int Bytes => ElementCount * ElementType switch { TensorElementType.Float32 => sizeof(float), TensorElementType.Int16 => sizeof(short), _ => 1 };
}

/// <summary>
/// One lowered operation, of any precision: the int8 ops (Q*, numerics after TFLite: multipliers/shifts with real
/// multiplier = Multiplier * 2^(Shift - 31), Shift positive = left), the float32 ops (<see cref="IFloat32Op"/>) and the layers
/// that change precision inside a model. Every field the kernel needs is precomputed at build time, so the C kernel and
/// the C# reference (<see cref="Reference.Int8Interpreter"/>, <see cref="Reference.FloatInterpreter"/>) read the same
/// numbers and agree bit for bit.
/// </summary>
public abstract class LoweredOp
{
    /// <summary>ONNX node name this op came from (for diagnostics and reports).</summary>
    public required string NodeName { get; init; }
    public required int[] Inputs { get; init; }
    public required int Output { get; init; }

    /// <summary>
    /// The C kernel the op runs, chosen per op from its shape and the board's core (<see cref="Emit.KernelChoice"/>)
    /// before planning, since the kernels' scratch differs. Every kernel computes the same bytes; the reference
    /// interpreter ignores this.
    /// </summary>
    public Int8Kernel Kernel { get; set; }

    /// <summary>The op kind the reports name (the class name without its precision letter: "Conv2D", "Pool", ...).</summary>
    public virtual string KindName => GetType().Name[1..];

    /// <summary>A member-wise copy, which the <c>With...</c> methods of an op give another geometry: the same op over a
    /// band of rows of its tensors (fused-layer tiling, <see cref="Plan.Tiling.RowTiling"/>).</summary>
    protected T Copy<T>() where T : LoweredOp => (T)MemberwiseClone();
}

/// <summary>
/// The lowered model handed to the planner, the emitter and the reference interpreters, whatever its precision: an
/// int8 model (possibly with float32 and int16x8 layers inside) or a float32 model (<c>Quantize="none"</c>), whose
/// tensors are all float32.
/// </summary>
public sealed class LoweredModel
{
    public required string Name { get; init; }
    public List<LoweredTensor> Tensors { get; } = [];
    /// <summary>Ops in execution order.</summary>
    public List<LoweredOp> Ops { get; } = [];
    /// <summary>The first model input; <see cref="Inputs"/> lists them all.</summary>
    public required int Input { get; set; }
    /// <summary>The first model output; <see cref="Outputs"/> lists them all.</summary>
    public required int Output { get; set; }
    /// <summary>Inputs after the first, in graph order (e.g. an RNN's state in).</summary>
    public List<int> ExtraInputs { get; } = [];
    /// <summary>Outputs after the first, in graph order (e.g. an RNN's state out).</summary>
    public List<int> ExtraOutputs { get; } = [];

    public IReadOnlyList<int> Inputs => [Input, .. ExtraInputs];
    public IReadOnlyList<int> Outputs => [Output, .. ExtraOutputs];

    /// <summary>Every op the model runs, a tiled stage's own ops in its place (<see cref="TiledStageOp.Ops"/>): what the
    /// model computes, whatever the order the tiles run it in.</summary>
    public IEnumerable<LoweredOp> AllOps => Ops.SelectMany(op => op is TiledStageOp stage ? stage.Ops : [op]);

    /// <summary>
    /// The input is read where the caller has it, never copied into the arena: only a tiled stage reads it, row band by
    /// row band (<see cref="TiledStageOp"/>), so the arena holds no copy of it (<c>invoke</c> passes its pointer on;
    /// <c>invoke_f32</c> quantizes each band as it is gathered).
    /// </summary>
    public bool InputInPlace { get; set; }

    public LoweredTensor InputTensor => Tensors[Input];
    public LoweredTensor OutputTensor => Tensors[Output];

    /// <summary>
    /// Tensors that channel pruning (<c>Prune</c>) made narrower, by name: which channels of the unpruned model's tensor
    /// they hold, so the accuracy report compares them with ONNX Runtime's values of the model file.
    /// </summary>
    public Dictionary<string, KeptChannels> PrunedTensors { get; } = new(StringComparer.Ordinal);

    /// <summary>A model with this one's tensors, inputs, outputs and pruned-tensor views and no op yet: what a pass that
    /// rewrites some ops (mixed precision) fills in again.</summary>
    public LoweredModel WithoutOps()
    {
        var result = new LoweredModel { Name = Name, Input = Input, Output = Output, InputInPlace = InputInPlace };
        result.Tensors.AddRange(Tensors);
        result.ExtraInputs.AddRange(ExtraInputs);
        result.ExtraOutputs.AddRange(ExtraOutputs);
        foreach (var (tensor, kept) in PrunedTensors)
        {
            result.PrunedTensors[tensor] = kept;
        }

        return result;
    }

    /// <summary>A float32 model (<c>Quantize="none"</c>): its API takes and returns floats.</summary>
    public bool IsFloat => Tensors.Count > 0 && Tensors.All(t => t.ElementType == TensorElementType.Float32);

    /// <summary>The tensor that owns the bytes of <paramref name="tensorId"/>.</summary>
    public int StorageOf(int tensorId)
    {
        var id = tensorId;
        while (Tensors[id].AliasOf is { } target)
        {
            id = target;
        }

        return id;
    }
}

/// <summary>
/// The channels (axis 1) of an unpruned tensor that its pruned version keeps, in order, with the elements of each
/// channel: how the accuracy report reads ONNX Runtime's value of the unpruned model for it.
/// </summary>
public sealed record KeptChannels(int[] Channels, int Inner)
{
    public float[] Select(ReadOnlySpan<float> original)
    {
        var selected = new float[Channels.Length * Inner];
        for (var k = 0; k < Channels.Length; k++)
        {
            original.Slice(Channels[k] * Inner, Inner).CopyTo(selected.AsSpan(k * Inner, Inner));
        }

        return selected;
    }
}
