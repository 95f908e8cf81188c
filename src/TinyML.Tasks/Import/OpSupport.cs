namespace TinyML.Import;

/// <summary>How a backend handles an operator.</summary>
public enum Support
{
    /// <summary>Not supported; a model that keeps this op after folding is refused with TML1002.</summary>
    No,

    /// <summary>Lowered to a kernel.</summary>
    Yes,

    /// <summary>Accepted only when its inputs are build-time constants, so constant folding removes it.</summary>
    FoldOnly,
}

/// <summary>One row of the operator support matrix.</summary>
/// <param name="OpType">Default-domain ONNX operator.</param>
/// <param name="MinOpset">Lowest default-domain opset the importer accepts for it.</param>
/// <param name="MaxOpset">Highest such opset.</param>
/// <param name="Float">The float32 path (<c>Quantize="none"</c>).</param>
/// <param name="Int8">The int8 path (<c>Quantize="int8"</c>).</param>
/// <param name="Notes">What users need to know, one short phrase.</param>
public sealed record OpSupportEntry(string OpType, int MinOpset, int MaxOpset, Support Float, Support Int8, string Notes)
{
    /// <summary>The importer accepts the op when some backend can handle it or folding can remove it.</summary>
    public bool Imported => Int8 is Support.Yes or Support.FoldOnly || Float is Support.Yes or Support.FoldOnly;
}

/// <summary>
/// The operator support matrix: the single source of truth for what the importer accepts
/// (<see cref="OnnxImporter.SupportedOps"/>) and for the table in README.md ("Supported operators"; a test keeps them
/// equal). One line per op, so adding an op touches only its own line.
/// </summary>
public static class OpSupport
{
    /// <summary>Default-domain opsets accepted. ONNX node tests are stamped up to 25; the float32 semantics of every op
    /// listed here did not change after opset 21 (22-25 only added types such as bfloat16/int4/float8), so 22..25
    /// import exactly like 21.</summary>
    public const int MinOpset = 9;
    public const int MaxOpset = 25;

    private const Support Y = Support.Yes;
    private const Support N = Support.No;
    private const Support F = Support.FoldOnly;

    public static IReadOnlyList<OpSupportEntry> Entries { get; } =
    [
        // Ops with kernels: float32 (Quantize="none") and int8.
        new("Conv", MinOpset, MaxOpset, Y, Y, "1-D (NCW, run as 2-D with H = 1) and 2-D (NCHW); grouped and depthwise"),
        new("ConvTranspose", 11, MaxOpset, Y, Y, "1-D and 2-D (no 3-D); grouped and depthwise, dilations, pads, output_padding, output_shape, auto_pad; int8 as TFLite TRANSPOSE_CONV (per-channel weights)"),
        new("Gemm", MinOpset, MaxOpset, Y, Y, "constant B; transB either way"),
        new("MatMul", MinOpset, MaxOpset, Y, Y, "constant B; 2-D B fused with a following Add into Gemm; float32 also 1-D operands and batched B (batch dimensions broadcast), and B computed at run time (attention's Q·Kᵀ, softmax·V: tml_matmul_f32); int8: constant 2-D B (fully connected), or A and B both run-time values (TFLite BATCH_MATMUL, tml_batch_matmul_s8)"),
        new("Relu", MinOpset, MaxOpset, Y, Y, "fused into the producing Conv/ConvTranspose/Gemm when possible"),
        new("Clip", MinOpset, MaxOpset, Y, Y, "constant min/max; fused like Relu"),
        new("MaxPool", MinOpset, MaxOpset, Y, Y, "1-D (as 2-D with H = 1), 2-D, and float32 3-D (two separable 2-D pools); no Indices output (argmax); int8: 1-D and 2-D"),
        new("AveragePool", MinOpset, MaxOpset, Y, Y, "1-D (as 2-D with H = 1), 2-D, and float32 3-D (two separable 2-D pools); int8: 1-D and 2-D"),
        new("GlobalAveragePool", MinOpset, MaxOpset, Y, Y, "int8: the mean takes its own calibrated output range (TFLite MEAN) when that is at least 2x narrower than its input's, else a pool at the input's; in a QDQ model a pool when its output keeps the input's parameters"),
        new("Flatten", MinOpset, MaxOpset, Y, Y, "no data movement (aliases its input)"),
        new("Reshape", MinOpset, MaxOpset, Y, Y, "constant shape (after folding); aliases its input"),
        new("Add", MinOpset, MaxOpset, Y, Y, "broadcasting (int8 too, up to rank 6; constant operands included); folds on constants"),
        new("Sub", MinOpset, MaxOpset, Y, Y, "broadcasting; int8: TFLite Sub (Add with the second multiplier negated), scalar constant as a lookup table; folds on constants"),
        new("Mul", MinOpset, MaxOpset, Y, Y, "broadcasting; int8: TFLite Mul, scalar constant as a lookup table; folds on constants"),
        new("Div", MinOpset, MaxOpset, Y, Y, "broadcasting; int8: constant divisor only (a Mul by the reciprocal; scalar constants as a lookup table); folds on constants"),
        new("Max", MinOpset, MaxOpset, Y, Y, "two inputs, broadcasting; int8: both rescaled as in TFLite Add, then requantized (scalar constant as a lookup table)"),
        new("Min", MinOpset, MaxOpset, Y, Y, "two inputs, broadcasting; int8: both rescaled as in TFLite Add, then requantized (scalar constant as a lookup table)"),
        new("PRelu", MinOpset, MaxOpset, Y, Y, "int8: constant slope; scalar = lookup table, per-channel = one 256-byte table per channel"),
        new("LeakyRelu", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table"),
        new("Sigmoid", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table"),
        new("Tanh", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table"),
        new("HardSigmoid", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table"),
        new("HardSwish", 14, MaxOpset, Y, Y, "int8: 256-entry lookup table"),
        new("Elu", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table"),
        new("Softmax", MinOpset, MaxOpset, Y, Y, "output scale 1/256"),
        new("BatchNormalization", MinOpset, MaxOpset, Y, Y, "inference mode only (no training_mode); folded into the preceding Conv/Gemm; float32 also standalone"),
        new("LayerNormalization", 17, MaxOpset, Y, Y, "constant scale/bias, normalized axes [axis, rank); also fused from the decomposed ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add pattern; int8: integer-only (exact integer square root), rows up to 65536"),
        new("Identity", MinOpset, MaxOpset, Y, Y, "removed"),
        new("Dropout", MinOpset, MaxOpset, Y, Y, "removed (inference)"),
        new("Constant", MinOpset, MaxOpset, Y, Y, "becomes a constant tensor"),
        new("Transpose", MinOpset, MaxOpset, Y, Y, "any permutation, rank <= 6"),
        new("Slice", MinOpset, MaxOpset, Y, Y, "constant starts/ends/axes/steps"),
        new("Gather", MinOpset, MaxOpset, Y, Y, "constant indices, any axis (a gather along the axis); int8 keeps the input's scale; folds on constant data"),
        new("Expand", MinOpset, MaxOpset, Y, Y, "constant target shape (after folding; bidirectional broadcast); a broadcast copy on activations, int8 keeps the input's scale; folds on constants (the initial state torch's GRU/LSTM export builds)"),
        new("Concat", MinOpset, MaxOpset, Y, Y, "any axis; constant inputs allowed; int8 requantizes inputs whose scale differs"),
        new("Split", MinOpset, MaxOpset, Y, Y, "constant splits; one gather per output"),
        new("Squeeze", MinOpset, MaxOpset, Y, Y, "no data movement (aliases its input)"),
        new("Unsqueeze", MinOpset, MaxOpset, Y, Y, "no data movement (aliases its input)"),
        new("Pad", MinOpset, MaxOpset, Y, Y, "constant pads; constant, reflect, edge and wrap modes; int8 pads with the quantized value"),
        new("Resize", 10, MaxOpset, Y, Y, "nearest; linear and cubic on the last two axes; float32 also antialias, exclude_outside and tf_crop_and_resize (linear/cubic); int8: nearest and linear only, linear in Q10 fixed point"),
        new("GlobalMaxPool", MinOpset, MaxOpset, Y, Y, ""),
        new("ReduceMean", MinOpset, MaxOpset, Y, Y, "adjacent axes (e.g. spatial or last), keepdims either way; int8 requantized mean"),
        new("ReduceSum", MinOpset, MaxOpset, Y, Y, "adjacent axes, axes as attribute (< 13) or constant input, keepdims and noop_with_empty_axes; int8: TFLite-style requantized sum; folds on constants"),
        new("ReduceMax", MinOpset, MaxOpset, Y, Y, "adjacent axes, keepdims either way; int8: output keeps the input's scale (TFLite), no requantization; folds on constants"),
        new("Exp", MinOpset, MaxOpset, Y, Y, "float32: tml_expf (no libm); int8: 256-entry lookup table; folds on constants"),
        new("Log", MinOpset, MaxOpset, Y, Y, "float32: tml_logf (no libm; log 0 = -inf, negative = NaN); int8: 256-entry lookup table, inputs <= 0 give the lowest output code (calibrate on the clamped input, e.g. Max(x, eps)); folds on constants"),
        new("Erf", MinOpset, MaxOpset, Y, Y, "float32: tml_erf_f32 (no libm); int8: 256-entry lookup table; the exact GELU pattern x*0.5*(1+erf(x/sqrt 2)) torch exports is fused into one Gelu; folds on constants"),
        new("Gelu", 20, MaxOpset, Y, Y, "approximate none or tanh; float32: tml_gelu_f32 (x*Phi(x) through erfc, no cancellation for negative x); int8: 256-entry lookup table; also fused from torch's Erf pattern at any opset"),
        new("Neg", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table; folds on constants"),
        new("Abs", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table; folds on constants"),
        new("Reciprocal", MinOpset, MaxOpset, Y, Y, "int8: 256-entry lookup table (1/0 saturates); folds on constants"),
        new("Equal", MinOpset, MaxOpset, Y, Y, "float32: exact; int8: both inputs rescaled as in TFLite Add, then compared (a scalar constant: an exact lookup table); folds on constants (If conditions)"),
        new("Less", MinOpset, MaxOpset, Y, Y, "like Equal"),
        new("LessOrEqual", 12, MaxOpset, Y, Y, "like Equal"),
        new("Greater", MinOpset, MaxOpset, Y, Y, "like Equal"),
        new("GreaterOrEqual", 12, MaxOpset, Y, Y, "like Equal"),
        new("Not", MinOpset, MaxOpset, Y, Y, "int8: lookup table; folds on constants (If conditions)"),
        new("And", MinOpset, MaxOpset, Y, Y, "broadcasting; folds on constants"),
        new("Or", MinOpset, MaxOpset, Y, Y, "broadcasting; folds on constants"),
        new("Xor", MinOpset, MaxOpset, Y, Y, "broadcasting; folds on constants"),
        new("Where", MinOpset, MaxOpset, Y, Y, "three-way broadcasting, constant operands allowed; int8: X and Y requantized to the output's scale; folds on constants"),
        new("Cast", MinOpset, MaxOpset, Y, Y, "to float/double: no operation; to bool: a mask (x != 0); to an integer type: truncated toward zero and wrapped to the type, the value kept as a float (exact below 2^24 in magnitude); int8: lookup table; Cast to float16/bfloat16/string/float8 of a run-time value is refused; folds on constants (also to float16 and double, as float32)"),
        new("LogSoftmax", MinOpset, MaxOpset, Y, N, "float32 only"),
        new("LSTM", MinOpset, MaxOpset, Y, Y, "one direction (forward/reverse), batch 1, default activations, constant weights and initial state; outputs Y, Y_h, Y_c; int8: per-row int8 weights, float32 cell"),
        new("GRU", MinOpset, MaxOpset, Y, Y, "one direction (forward/reverse), batch 1, default activations, linear_before_reset 0 or 1, constant weights and initial state; int8: per-row int8 weights, float32 cell"),

        // QDQ (already quantized) models: int8 only, the scales come from the model instead of calibration.
        new("QuantizeLinear", 10, MaxOpset, N, Y, "QDQ models: int8 per-tensor activations, scales kept exactly"),
        new("DequantizeLinear", 10, MaxOpset, N, Y, "QDQ models: int8 weights (per-channel or per-tensor), int32 biases"),

        // Shape plumbing exporters emit: evaluated at build time by constant folding, never run on the device.
        new("Shape", MinOpset, MaxOpset, F, F, "folds once the input's static shape is known"),
        new("Size", MinOpset, MaxOpset, F, F, "folds once the input's static shape is known"),
        new("ConstantOfShape", MinOpset, MaxOpset, F, F, "constant shape"),
        new("Range", 11, MaxOpset, F, F, "constant start/limit/delta"),
        new("Pow", MinOpset, MaxOpset, Y, Y, "constant exponent 2 (as x*x), 0.5 (as Sqrt) or 1 on activations; fused inside a decomposed LayerNorm; any exponent folds on constants"),
        new("Sqrt", MinOpset, MaxOpset, Y, Y, "int8: lookup table; float32: tml_sqrt_f32 (no libm)"),
        new("If", MinOpset, MaxOpset, F, F, "constant condition: the taken branch is inlined; pin run-time inputs with ConstantInputs"),
    ];

    /// <summary>Rows by op type.</summary>
    public static IReadOnlyDictionary<string, OpSupportEntry> ByOpType { get; } =
        Entries.ToDictionary(e => e.OpType, StringComparer.Ordinal);

    /// <summary>Limits that hold for every operator; printed under the table (README.md carries it too).</summary>
    public const string GeneralNotes =
        "All operators: tensors are float32 (the int8 path quantizes them); a graph input of another element type " +
        "(integer, float16, ...) and empty (zero-size) tensors are refused with TML1004. Operators not listed are refused with TML1002. " +
        "Masks (bool tensors: the results of comparisons, Not/And/Or/Xor and Cast to bool) computed from run-time values are " +
        "0.0/1.0 floats in the float32 path and int8 0/1 bytes with scale 1, zero point 0 in the int8 path (a graph output that is " +
        "a mask reads 0/1); integer tensors (Cast to an integer type) are carried as float values; masks and integers computed " +
        "from constants or shapes fold at build time.";

    /// <summary>
    /// Where a TML1002 sends the user instead of listing every supported operator on one line: the table above,
    /// which README.md carries (a test keeps them equal).
    /// </summary>
    public const string TableReference = "supported operators and their limits: README.md, section \"Supported operators\"";

    public const string MarkdownBeginMarker = "<!-- op-matrix:begin -->";
    public const string MarkdownEndMarker = "<!-- op-matrix:end -->";

    /// <summary>The matrix as the Markdown table README.md carries between the markers.</summary>
    public static string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("| operator | opsets | float32 | int8 | notes |\n");
        text.Append("|---|---|---|---|---|\n");
        foreach (var e in Entries)
        {
            text.Append($"| {e.OpType} | {e.MinOpset}–{e.MaxOpset} | {Label(e.Float)} | {Label(e.Int8)} | {e.Notes} |\n");
        }

        text.Append('\n').Append(GeneralNotes).Append('\n');

        return text.ToString();
    }

    public static string Label(Support support) => support switch
    {
        Support.Yes => "yes",
        Support.No => "no",
        Support.FoldOnly => "fold-only",
        _ => support.ToString(),
    };
}
