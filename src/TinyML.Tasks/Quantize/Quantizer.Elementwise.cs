using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>The element-wise ops: clamps, broadcasting binary ops, Where, and the lookup tables of the one-input functions.</summary>
public sealed partial class Quantizer
{
    protected override void LowerClamp(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        if (!FuseActivationPass.TryRange(_graph, node, out var min, out var max))
        {
            throw Unsupported(node, "Clip bounds must be constants");
        }

        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        var (lo, hi) = QuantizationMath.ActivationBounds(min, max, input.Scale, input.ZeroPoint);
        _model.Ops.Add(new QClamp { NodeName = node.Name, Inputs = [input.Id], Output = output, Count = input.Bytes, Min = lo, Max = hi });
    }

    /// <summary>
    /// Where: the condition is read as true where its byte differs from its zero point (a mask is 0/1 with zero point
    /// 0); X and Y are requantized to the output's calibrated parameters (a byte copy when they already match), a
    /// constant X or Y is quantized straight to them, and a constant condition keeps its 0/1 values.
    /// </summary>
    protected override void LowerWhere(Node node)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank || node.Inputs.Count != 3)
        {
            throw Unsupported(node, $"Where needs three inputs and an output of rank <= {BroadcastGeometry.MaxRank}");
        }

        var output = OutputTensor(node);
        (int? Id, sbyte[]? Constant, int[] Shape, int ZeroPoint, int Multiplier, int Shift) Branch(int index)
        {
            if (AsFloatConstant(GraphEdit.Constant(_graph, node.Inputs[index])) is { } constant)
            {
                return (null, constant.FloatData!.Select(v => QuantizationMath.QuantizeFloat(v, output.Scale, output.ZeroPoint)).ToArray(), constant.Shape, output.ZeroPoint, 0, 0);
            }

            var tensor = _model.Tensors[Id(node.Inputs[index], node)];
            if (tensor.Scale == output.Scale && tensor.ZeroPoint == output.ZeroPoint)
            {
                return (tensor.Id, null, tensor.Shape, tensor.ZeroPoint, 0, 0);
            }

            var (multiplier, shift) = QuantizationMath.QuantizeMultiplier((double)tensor.Scale / output.Scale);
            return (tensor.Id, null, tensor.Shape, tensor.ZeroPoint, multiplier == 0 ? 1 : multiplier, multiplier == 0 ? -31 : shift);
        }

        int? conditionId = null;
        sbyte[]? conditionConstant = null;
        int[] conditionShape;
        var conditionZeroPoint = 0;
        if (AsFloatConstant(GraphEdit.Constant(_graph, node.Inputs[0])) is { } constantCondition)
        {
            conditionConstant = constantCondition.FloatData!.Select(v => (sbyte)(v != 0 ? 1 : 0)).ToArray();
            conditionShape = constantCondition.Shape;
        }
        else
        {
            var condition = _model.Tensors[Id(node.Inputs[0], node)];
            (conditionId, conditionShape, conditionZeroPoint) = (condition.Id, condition.Shape, condition.ZeroPoint);
        }

        var x = Branch(1);
        var y = Branch(2);
        if (conditionId is null && x.Id is null && y.Id is null)
        {
            throw Unsupported(node, "Where of three constants should have been folded");
        }

        _model.Ops.Add(new QWhere
        {
            NodeName = node.Name,
            Inputs = new[] { conditionId, x.Id, y.Id }.OfType<int>().Distinct().ToArray(),
            Output = output.Id,
            Geometry = WhereGeometry.Of(outShape, conditionShape, conditionId, x.Shape, x.Id, y.Shape, y.Id), ConstantC = conditionConstant, ConstantX = x.Constant, ConstantY = y.Constant,
            ConditionZeroPoint = conditionZeroPoint,
            X = new(x.ZeroPoint, x.Multiplier, x.Shift),
            Y = new(y.ZeroPoint, y.Multiplier, y.Shift),
            OutputZeroPoint = output.ZeroPoint,
        });
    }

    protected override void LowerAdd(Node node)
    {
        if (GraphEdit.Constant(_graph, node.Inputs[0]) is not null || GraphEdit.Constant(_graph, node.Inputs[1]) is not null
            || !_graph.Tensor(node.Inputs[0]).Shape.SequenceEqual(_graph.Tensor(node.Inputs[1]).Shape))
        {
            LowerBinary(node); // a constant operand or broadcasting: the strided kernel (or a lookup table)
            return;
        }

        var a = _model.Tensors[Id(node.Inputs[0], node)];
        var b = _model.Tensors[Id(node.Inputs[1], node)];

        _model.Ops.Add(Int8OpBuilder.Add(node.Name, a, b, OutputTensor(node), new(-128, 127)));
    }

    /// <summary>
    /// Activations as a 256-entry lookup table: every int8 input is dequantized, run through the op's float function
    /// and quantized with the calibrated output parameters, at build time. This is how TFLite-style int8 activations
    /// (Sigmoid, Tanh, HardSwish, ...) run on MCUs: one load per element and the correctly rounded result for every
    /// input, whatever the function.
    /// </summary>
    protected override void LowerUnary(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (kind, alpha, beta) = ElementwiseMath.Unary(node);
        var output = OutputTensor(node);
        // int8 has no NaN: log of a value <= 0 takes the lowest output code (log 0 = -inf saturates there too).
        // The Sign of a sign-only sum (bias rounded down): 0 stands for a float sum in [0, 1) steps, so +1.
        var table = LookupTable(input, output, x => kind == UnaryKind.Log && x <= 0 ? float.NegativeInfinity
            : kind == UnaryKind.Sign && input.SignOnly ? (x >= 0 ? 1f : -1f)
            : (float)ElementwiseMath.Apply(kind, x, alpha, beta));
        AddLut(node, input, output, 1, 1, input.Bytes, table);
    }

    /// <summary>
    /// Add (broadcasting or with a constant), Sub, Mul, Div, PRelu. A scalar constant operand makes the op a function of
    /// the other operand alone: a lookup table, exact. PRelu with a per-channel slope: one table per channel (256 bytes
    /// of flash each) rather than TFLite's two-multiplier kernel, because the table is exact where the kernel rounds
    /// the slope to int8 and requantizes twice, and PRelu slopes sit on small channel counts (tens of channels = a few
    /// KB). Everything else runs the strided broadcasting kernel with TFLite Add/Sub/Mul arithmetic; Div only with a
    /// constant divisor, as a Mul by its reciprocal.
    /// </summary>
    protected override void LowerBinary(Node node)
    {
        if (node.Inputs.Count != 2)
        {
            throw Unsupported(node, $"{node.OpType} with {node.Inputs.Count} inputs (two are supported)");
        }

        var constantA = GraphEdit.Constant(_graph, node.Inputs[0]);
        var constantB = GraphEdit.Constant(_graph, node.Inputs[1]);
        if (constantA is not null && constantB is not null)
        {
            throw Unsupported(node, "both operands are constants; constant folding should have removed it");
        }

        // Integer and bool constants (a comparison with 0, an And with a constant mask) as the floats they stand for.
        constantA = AsFloatConstant(constantA);
        constantB = AsFloatConstant(constantB);

        Func<float, float, float> apply = node.OpType == "Add"
            ? (a, b) => a + b
            : (a, b) => ElementwiseMath.Apply(ElementwiseMath.BinaryOps[node.OpType], a, b);
        if ((constantA ?? constantB) is { ElementCount: 1 } scalar)
        {
            var input = _model.Tensors[Id(node.Inputs[constantA is null ? 0 : 1], node)];
            var output = OutputTensor(node);
            if (output.Bytes != input.Bytes)
            {
                throw Unsupported(node, "a scalar operand that changes the element count is not supported in int8");
            }

            var c = scalar.FloatData![0];
            var table = LookupTable(input, output, x => constantA is null ? apply(x, c) : apply(c, x));
            AddLut(node, input, output, 1, 1, input.Bytes, table);
            return;
        }

        switch (node.OpType)
        {
            case "PRelu":
                LowerPerChannelPRelu(node, constantB);
                return;
            case "Div" when constantB is null:
                throw new TinyMLException(ErrorCodes.UnsupportedOp,
                    $"Div '{node.Name}': int8 Div needs a constant divisor (it becomes a Mul by the reciprocal); here the divisor is a run-time value (Quantize=\"none\" supports it)", File);
            case "Div":
                var divisor = constantB!.FloatData!;
                if (divisor.Any(d => d == 0f))
                {
                    throw Unsupported(node, "the constant divisor contains zero");
                }

                var reciprocal = new Tensor(constantB.Name, constantB.Shape) { FloatData = divisor.Select(d => (float)(1.0 / d)).ToArray() };
                LowerBroadcast(node, BinaryKind.Mul, negateSecond: false, null, reciprocal);
                return;
            case "Max" or "Min":
                // Both operands rescaled to a common scale exactly as TFLite Add does, compared there, then
                // requantized to the output scale: the rescaling is monotonic, so the larger (smaller) input wins.
                LowerBroadcast(node, node.OpType == "Max" ? BinaryKind.Max : BinaryKind.Min, negateSecond: false, constantA, constantB);
                return;
            case "Equal" or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual" or "And" or "Or" or "Xor":
                // Comparisons rescale both operands as Max/Min do and compare there (TFLite's comparison kernels do
                // the same with their own shift); logical ops read each input's truth (value != 0) from its raw byte.
                LowerBroadcast(node, Enum.Parse<BinaryKind>(node.OpType), negateSecond: false, constantA, constantB);
                return;
            default:
                LowerBroadcast(node, node.OpType == "Mul" ? BinaryKind.Mul : BinaryKind.Add, negateSecond: node.OpType == "Sub", constantA, constantB);
                return;
        }
    }

    private static Tensor? AsFloatConstant(Tensor? constant) =>
        constant is { FloatData: null, IntData: { } ints } ? new Tensor(constant.Name, constant.Shape) { FloatData = ints.Select(v => (float)v).ToArray() } : constant;

    private void LowerPerChannelPRelu(Node node, Tensor? slope)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        if (slope is null)
        {
            throw Unsupported(node, "int8 PRelu needs a constant slope");
        }

        // Right-align the slope to X (it broadcasts unidirectionally); exactly one axis may vary.
        var x = input.Shape;
        var aligned = Enumerable.Repeat(1, Math.Max(0, x.Length - slope.Shape.Length)).Concat(slope.Shape).ToArray();
        var varying = Enumerable.Range(0, aligned.Length).Where(d => aligned[d] != 1).ToList();
        if (aligned.Length != x.Length || varying.Count != 1 || aligned[varying[0]] != x[varying[0]])
        {
            throw Unsupported(node, $"int8 PRelu supports a scalar or per-channel slope (one axis), not [{string.Join(",", slope.Shape)}] on [{string.Join(",", x)}]");
        }

        var axis = varying[0];
        var channels = x[axis];
        var output = OutputTensor(node);
        var tables = new sbyte[channels * 256];
        for (var c = 0; c < channels; c++)
        {
            var alpha = slope.FloatData![c];
            LookupTable(input, output, v => v < 0 ? v * alpha : v).CopyTo(tables, c * 256);
        }

        AddLut(node, input, output, x.Take(axis).Aggregate(1, (p, d) => p * d), channels, x.Skip(axis + 1).Aggregate(1, (p, d) => p * d), tables);
    }

    private void LowerBroadcast(Node node, BinaryKind kind, bool negateSecond, Tensor? constantA, Tensor? constantB)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank)
        {
            throw Unsupported(node, $"int8 broadcasting supports rank <= {BroadcastGeometry.MaxRank}, the output has rank {outShape.Length}");
        }

        var a = BroadcastOperand(node, 0, constantA);
        var b = BroadcastOperand(node, 1, constantB);
        var output = OutputTensor(node);
        int m1 = 0, s1 = 0, m2 = 0, s2 = 0, mo = 0, so = 0, leftShift = 0;
        if (kind == BinaryKind.Mul)
        {
            (mo, so) = QuantizationMath.QuantizeMultiplier((double)a.Scale * b.Scale / output.Scale);
        }
        else if (kind is BinaryKind.And or BinaryKind.Or or BinaryKind.Xor)
        {
            // Only the zero points matter: a byte is true where it differs from its tensor's zero point.
        }
        else
        {
            var p = QuantizationMath.PrepareAdd(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, output.Scale, output.ZeroPoint);
            // TFLite Sub is Add with the second input's multiplier negated.
            (m1, s1, m2, s2, mo, so, leftShift) = (p.Input1Multiplier, p.Input1Shift, negateSecond ? -p.Input2Multiplier : p.Input2Multiplier, p.Input2Shift, p.OutputMultiplier, p.OutputShift, p.LeftShift);
        }

        _model.Ops.Add(new QBinary
        {
            NodeName = node.Name,
            Kind = kind,
            Inputs = new[] { a.Id, b.Id }.Where(i => i is not null).Select(i => i!.Value).ToArray(),
            Output = output.Id,
            Geometry = BroadcastGeometry.Of(outShape, a.Shape, a.Id, b.Shape, b.Id), ConstantA = a.Constant, ConstantB = b.Constant,
            Input1 = new(a.ZeroPoint, m1, s1), Input2 = new(b.ZeroPoint, m2, s2), LeftShift = leftShift,
            OutputRequantization = new(mo, so), OutputZeroPoint = output.ZeroPoint,
            Activation = new(-128, 127),
        });
    }

    /// <summary>An activation operand, or a constant quantized symmetric per tensor (zero point 0, scale max|c|/127).</summary>
    private (int? Id, sbyte[]? Constant, int[] Shape, float Scale, int ZeroPoint) BroadcastOperand(Node node, int index, Tensor? constant)
    {
        if (constant is null)
        {
            var tensor = _model.Tensors[Id(node.Inputs[index], node)];
            return (tensor.Id, null, tensor.Shape, tensor.Scale, tensor.ZeroPoint);
        }

        var values = constant.FloatData!;
        var maxAbs = values.Max(v => Math.Abs(v));
        var scale = maxAbs > 0 ? maxAbs / 127f : 1f;
        var q = values.Select(v => (sbyte)Math.Clamp(Math.Round(v / (double)scale, MidpointRounding.AwayFromZero), -127, 127)).ToArray();
        return (null, q, constant.Shape, scale, 0);
    }

    /// <summary>table[q + 128] = quantize(f(dequantize(q))) with the tensors' own parameters, as the C kernel reads it.</summary>
    private static sbyte[] LookupTable(LoweredTensor input, LoweredTensor output, Func<float, float> function)
    {
        var table = new sbyte[256];
        for (var q = -128; q <= 127; q++)
        {
            var x = QuantizationMath.Dequantize((sbyte)q, input.Scale, input.ZeroPoint);
            table[q + 128] = QuantizationMath.QuantizeFloat(function(x), output.Scale, output.ZeroPoint);
        }

        return table;
    }

    private void AddLut(Node node, LoweredTensor input, LoweredTensor output, int outer, int channels, int inner, sbyte[] tables) =>
        _model.Ops.Add(new QLut
        {
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id,
            View = new(outer, channels, inner), Tables = tables,
        });

    /// <summary>The int8 parameters of a mask (an ONNX bool tensor): scale 1, zero point 0, so its bytes are the 0/1
    /// values themselves and it dequantizes to the 0.0/1.0 the float32 path carries.</summary>
    public const float MaskScale = 1f;
}
