using TinyML.Plan;
using static TinyML.Emit.CText;

namespace TinyML.Emit;

/// <summary>
/// The API of an int8 model: int8 entry points at the model's input and output scale and zero point, float convenience
/// functions that quantize and dequantize; a model with several inputs or outputs (an RNN with state in/out) takes
/// arrays of pointers instead, and one with one of each keeps exactly the single-input API.
/// </summary>
internal sealed class Int8ModelApi : ModelApi
{
    public static readonly Int8ModelApi Instance = new();

    public override string ArenaElement => "int8_t";

    public override string ArenaStorageElement => "int32_t";

    protected override string ArenaCast => "(int8_t *)arena";

    protected override string InvokeSuffix => "";

    protected override int IndexOf(int byteOffset) => byteOffset;

    public override (string Line, bool Always) UnusedArena =>
        ("    (void)arena; /* no kernel call: the output is the input or an alias of it */\n", false);

    public override string Header(LoweredModel model, ArenaPlan plan, string name, string upper, string sourceDescription) =>
        IsMulti(model) ? EmitMultiHeader(model, plan, name, upper, sourceDescription) : EmitHeader(model, plan, name, upper, sourceDescription);

    public override (IEnumerable<string> Kernels, IEnumerable<string> Library) Includes(LoweredModel model)
    {
        var kernels = new List<string> { "#include \"tml_kernels.h\"" };
        // A tiled stage's ops run their own kernels.
        if (model.AllOps.Any(op => op.Kernel != Int8Kernel.Generic))
        {
            kernels.Add("#include \"tml_kernels_dsp.h\"");
        }

        if (model.AllOps.Any(op => op is QRecurrent))
        {
            kernels.Add("#include \"tml_recurrent_s8.h\"");
        }

        if (model.AllOps.Any(op => op is QInt16x8Layer))
        {
            kernels.Add("#include \"tml_int16x8.h\"");
        }

        if (model.AllOps.Any(op => op is QFloatLayer or QTrainableHead))
        {
            kernels.Add("#include \"tml_kernels_f32.h\"");
            kernels.Add(FloatModelApi.MathInclude);
        }

        return (kernels, ["#include <stddef.h>"]);
    }

    public override string EntryPoints(LoweredModel model, ArenaPlan plan, string name, string upper, ArenaStorage arena)
    {
        if (IsMulti(model))
        {
            return MultiEntryPoints(model, plan, name, upper, arena);
        }

        // An input read in place is quantized band by band by the tiled stage; otherwise into the arena's input slot.
        var runF32 = model.InputInPlace
            ? $"tml_{name}_run(a, NULL, input);"
            : string.Create(CultureInfo.InvariantCulture, $"tml_{name}_quantize_input(input, a + {plan.OffsetOf(model, model.Input)});\n    tml_{name}_run(a);");
        return SingleEntryPoints(model, plan, name, upper, arena) + string.Create(CultureInfo.InvariantCulture, $$"""

            void tml_{{name}}_quantize_input(const float *x, int8_t *q)
            {
                tml_quantize_f32_s8(x, q, TML_{{upper}}_INPUT_SIZE, TML_{{upper}}_INPUT_SCALE, TML_{{upper}}_INPUT_ZERO_POINT);
            }

            void tml_{{name}}_dequantize_output(const int8_t *q, float *y)
            {
                tml_dequantize_s8_f32(q, y, TML_{{upper}}_OUTPUT_SIZE, TML_{{upper}}_OUTPUT_SCALE, TML_{{upper}}_OUTPUT_ZERO_POINT);
            }

            int tml_{{name}}_invoke_f32(const float *input, float *output)
            {
                /* Quantize straight into the arena's input slot: no extra RAM for the float path. */
                int8_t *const a = (int8_t *){{arena.BytesExpression}};
                if (input == NULL || output == NULL) {
                    return -1;
                }
                {{runF32}}
                tml_{{name}}_dequantize_output(a + {{plan.OffsetOf(model, model.Output)}}, output);
                return 0;
            }

            """) + LearningEntryPoints(model, plan, name, upper, arena);
    }

    /// <summary>The learning API's declarations when the model has a trainable head (<c>Train</c>), else nothing.</summary>
    private static string LearningDeclarations(LoweredModel model, ArenaPlan plan, string name, string upper)
    {
        if (model.Ops.OfType<QTrainableHead>().FirstOrDefault() is not { } head)
        {
            return "";
        }

        var alignment = plan.Alignment;
        return string.Create(CultureInfo.InvariantCulture, $$"""
            /*
             * On-device learning (Train): the last {{head.Layers.Count}} fully connected layer(s) ({{string.Join(", ", head.Layers.Select(l => l.Node))}}) run in float32
             * with their parameters in the static arena, where the learn functions change them by one SGD step per call
             * (the rest of the model stays frozen int8 and runs once per sample). invoke and invoke_f32 use the learned
             * parameters; the *_with_arena forms use the parameters in the arena they are given.
             */
            #define TML_{{upper}}_TRAINABLE_FLOATS {{head.ParameterCount}}
            #define TML_{{upper}}_HEAD_OUTPUTS {{head.Layers[^1].Out}}

            /* One step on softmax cross-entropy for an input of class label (0 .. TML_{{upper}}_HEAD_OUTPUTS - 1): returns the
             * loss before the step, or -1 for a bad argument. */
            float tml_{{name}}_learn(const float *input, int label, float learning_rate);

            /* One step on the mean squared error between the head's outputs and target (TML_{{upper}}_HEAD_OUTPUTS floats;
             * an autoencoder passes its input): returns the loss before the step, or -1 for a bad argument. */
            float tml_{{name}}_learn_mse(const float *input, const float *target, float learning_rate);

            /* The model's own parameters back (they are also taken on the first call with a fresh, zeroed arena). */
            void tml_{{name}}_reset_weights(void);

            /* Copies the TML_{{upper}}_TRAINABLE_FLOATS learned parameters out / in: the application keeps them where it
             * wants (a flash page, EEPROM) and loads them after a restart. */
            void tml_{{name}}_save_weights(float *weights);
            void tml_{{name}}_load_weights(const float *weights);

            /* The same with a caller-provided arena (TML_{{upper}}_ARENA_SIZE bytes, {{alignment}}-byte aligned; zeroed before its first
             * use, or given the model's parameters by reset_weights_with_arena), whose learned parameters they use and
             * change: one model learning several things in several arenas, or an arena shared with other models
             * (ArenaGroup; the parameters persist only while nothing else writes it). They return -1 (the learn forms
             * -1.0f) for a NULL or misaligned arena or a bad argument, else 0 (the learn forms: the loss). */
            float tml_{{name}}_learn_with_arena(uint8_t *arena, const float *input, int label, float learning_rate);
            float tml_{{name}}_learn_mse_with_arena(uint8_t *arena, const float *input, const float *target, float learning_rate);
            int tml_{{name}}_reset_weights_with_arena(uint8_t *arena);
            int tml_{{name}}_save_weights_with_arena(uint8_t *arena, float *weights);
            int tml_{{name}}_load_weights_with_arena(uint8_t *arena, const float *weights);


            """);
    }

    /// <summary>The learning API's functions (see <see cref="LearningDeclarations"/>).</summary>
    private static string LearningEntryPoints(LoweredModel model, ArenaPlan plan, string name, string upper, ArenaStorage arena)
    {
        var index = model.Ops.FindIndex(op => op is QTrainableHead);
        if (index < 0)
        {
            return "";
        }

        var head = (QTrainableHead)model.Ops[index];
        var id = $"tml_{name}_op{index}";
        var scratch = plan.ScratchOffsetOf(index) ?? throw new InvalidOperationException("a trainable head has scratch");
        return string.Create(CultureInfo.InvariantCulture, $$"""

            static float *tml_{{name}}_head_params(int8_t *a, int32_t reset)
            {
                return tml_head_params_f32(&{{id}}, {{id}}_initial, a + {{plan.OffsetOf(model, head.Inputs[1])}}, reset);
            }

            /* The backbone up to the head's features, then the learning step on them in the head's own scratch. */
            static const float *tml_{{name}}_features(int8_t *a, const float *input)
            {
                tml_{{name}}_quantize_input(input, a + {{plan.OffsetOf(model, model.Input)}});
                tml_{{name}}_run_to_head(a);
                return (const float *)(const void *)(a + {{plan.OffsetOf(model, head.Inputs[0])}});
            }

            static int tml_{{name}}_bad_arena(const uint8_t *arena)
            {
                return arena == NULL || ((uintptr_t)arena & {{plan.Alignment - 1}}u) != 0u;
            }

            float tml_{{name}}_learn_with_arena(uint8_t *arena, const float *input, int label, float learning_rate)
            {
                int8_t *const a = (int8_t *)arena;
                const float *features;
                if (tml_{{name}}_bad_arena(arena) || input == NULL || label < 0 || label >= TML_{{upper}}_HEAD_OUTPUTS) {
                    return -1.0f;
                }
                features = tml_{{name}}_features(a, input);
                return tml_head_learn_ce_f32(&{{id}}, tml_{{name}}_head_params(a, 0), features, (int32_t)label, learning_rate, (float *)(void *)(a + {{scratch}}));
            }

            float tml_{{name}}_learn_mse_with_arena(uint8_t *arena, const float *input, const float *target, float learning_rate)
            {
                int8_t *const a = (int8_t *)arena;
                const float *features;
                if (tml_{{name}}_bad_arena(arena) || input == NULL || target == NULL) {
                    return -1.0f;
                }
                features = tml_{{name}}_features(a, input);
                return tml_head_learn_mse_f32(&{{id}}, tml_{{name}}_head_params(a, 0), features, target, learning_rate, (float *)(void *)(a + {{scratch}}));
            }

            int tml_{{name}}_reset_weights_with_arena(uint8_t *arena)
            {
                if (tml_{{name}}_bad_arena(arena)) {
                    return -1;
                }
                (void)tml_{{name}}_head_params((int8_t *)arena, 1);
                return 0;
            }

            int tml_{{name}}_save_weights_with_arena(uint8_t *arena, float *weights)
            {
                const float *params;
                int32_t k;
                if (tml_{{name}}_bad_arena(arena) || weights == NULL) {
                    return -1;
                }
                params = tml_{{name}}_head_params((int8_t *)arena, 0);
                for (k = 0; k < TML_{{upper}}_TRAINABLE_FLOATS; k++) {
                    weights[k] = params[k];
                }
                return 0;
            }

            int tml_{{name}}_load_weights_with_arena(uint8_t *arena, const float *weights)
            {
                float *params;
                int32_t k;
                if (tml_{{name}}_bad_arena(arena) || weights == NULL) {
                    return -1;
                }
                params = tml_{{name}}_head_params((int8_t *)arena, 0);
                for (k = 0; k < TML_{{upper}}_TRAINABLE_FLOATS; k++) {
                    params[k] = weights[k];
                }
                return 0;
            }

            float tml_{{name}}_learn(const float *input, int label, float learning_rate)
            {
                return tml_{{name}}_learn_with_arena((uint8_t *){{arena.BytesExpression}}, input, label, learning_rate);
            }

            float tml_{{name}}_learn_mse(const float *input, const float *target, float learning_rate)
            {
                return tml_{{name}}_learn_mse_with_arena((uint8_t *){{arena.BytesExpression}}, input, target, learning_rate);
            }

            void tml_{{name}}_reset_weights(void)
            {
                (void)tml_{{name}}_reset_weights_with_arena((uint8_t *){{arena.BytesExpression}});
            }

            void tml_{{name}}_save_weights(float *weights)
            {
                (void)tml_{{name}}_save_weights_with_arena((uint8_t *){{arena.BytesExpression}}, weights);
            }

            void tml_{{name}}_load_weights(const float *weights)
            {
                (void)tml_{{name}}_load_weights_with_arena((uint8_t *){{arena.BytesExpression}}, weights);
            }

            """);
    }

    /// <summary>Several inputs or outputs (an RNN with state in/out): the header and invoke functions take arrays of
    /// pointers instead; a model with one of each keeps exactly the single-input API.</summary>
    private static bool IsMulti(LoweredModel model) => model.ExtraInputs.Count > 0 || model.ExtraOutputs.Count > 0;

    private static string EmitMultiHeader(LoweredModel model, ArenaPlan plan, string name, string upper, string sourceDescription)
    {
        var I = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(I, $$"""
            /*
             * {{name}}.h - generated by TinyML.Sdk from {{sourceDescription}}. Do not edit.
             *
             * int8 model, TFLite quantization: real = scale * (q - zero_point), {{model.Inputs.Count}} input(s), {{model.Outputs.Count}} output(s):

            """);
        foreach (var (kind, ids) in new[] { ("input", model.Inputs), ("output", model.Outputs) })
        {
            for (var i = 0; i < ids.Count; i++)
            {
                var t = model.Tensors[ids[i]];
                sb.Append(I, $" *   {kind} {i} '{Comment(t.Name)}' [{string.Join(",", t.Shape)}] scale {FloatLiteral(t.Scale)} zero point {t.ZeroPoint}\n");
            }
        }

        sb.Append(I, $$"""
             * RAM: one arena of TML_{{upper}}_ARENA_SIZE bytes (live-tensor lower bound {{plan.LowerBound}} bytes).
             * tml_{{name}}_invoke_multi uses a static arena and must not run concurrently; the _with_arena form is reentrant.
             */
            {{HeaderOpen(upper)}}#define TML_{{upper}}_ARENA_SIZE {{plan.ArenaBytes}}
            #define TML_{{upper}}_NUM_INPUTS {{model.Inputs.Count}}
            #define TML_{{upper}}_NUM_OUTPUTS {{model.Outputs.Count}}

            """);
        foreach (var (kind, ids) in new[] { ("INPUT", model.Inputs), ("OUTPUT", model.Outputs) })
        {
            for (var i = 0; i < ids.Count; i++)
            {
                var t = model.Tensors[ids[i]];
                sb.Append(I, $"#define TML_{upper}_{kind}{i}_SIZE {t.Bytes}\n#define TML_{upper}_{kind}{i}_SCALE {FloatLiteral(t.Scale)}\n#define TML_{upper}_{kind}{i}_ZERO_POINT {t.ZeroPoint}\n");
            }
        }

        sb.Append(I, $$"""

            /* Runs the model: inputs[i] holds TML_{{upper}}_INPUT<i>_SIZE int8 values, outputs[j] receives
             * TML_{{upper}}_OUTPUT<j>_SIZE (a NULL output is skipped). Returns 0 on success, -1 on a NULL input. */
            int tml_{{name}}_invoke_multi(const int8_t *const *inputs, int8_t *const *outputs);

            /* Same, with a caller-provided arena of TML_{{upper}}_ARENA_SIZE bytes, {{plan.Alignment}}-byte aligned (-1 when it is not:
             * the kernels read their int16/int32 scratch and float tensors in it with aligned loads). */
            int tml_{{name}}_invoke_multi_with_arena(uint8_t *arena, const int8_t *const *inputs, int8_t *const *outputs);

            {{HeaderClose(upper)}}
            """);
        return Normalize(sb);
    }

    private static string EmitHeader(LoweredModel model, ArenaPlan plan, string name, string upper, string sourceDescription)
    {
        var input = model.InputTensor;
        var output = model.OutputTensor;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $$"""
            /*
             * {{name}}.h - generated by TinyML.Sdk from {{sourceDescription}}. Do not edit.
             *
             * int8 model, TFLite quantization: real = scale * (q - zero_point).
             *   input  [{{string.Join(",", input.Shape)}}] scale {{FloatLiteral(input.Scale)}} zero point {{input.ZeroPoint}}
             *   output [{{string.Join(",", output.Shape)}}] scale {{FloatLiteral(output.Scale)}} zero point {{output.ZeroPoint}}
             * RAM: one arena of TML_{{upper}}_ARENA_SIZE bytes (live-tensor lower bound {{plan.LowerBound}} bytes).
             * All functions are reentrant with a caller-provided arena; the *_invoke/_invoke_f32 forms use a
             * static arena and must not run concurrently.
             */
            {{HeaderOpen(upper)}}#define TML_{{upper}}_INPUT_SIZE {{input.Bytes}}
            #define TML_{{upper}}_OUTPUT_SIZE {{output.Bytes}}
            #define TML_{{upper}}_ARENA_SIZE {{plan.ArenaBytes}}
            #define TML_{{upper}}_INPUT_SCALE {{FloatLiteral(input.Scale)}}
            #define TML_{{upper}}_INPUT_ZERO_POINT {{input.ZeroPoint}}
            #define TML_{{upper}}_OUTPUT_SCALE {{FloatLiteral(output.Scale)}}
            #define TML_{{upper}}_OUTPUT_ZERO_POINT {{output.ZeroPoint}}

            /* Runs the model on int8 input (TML_{{upper}}_INPUT_SIZE bytes) into int8 output. Returns 0 on success. */
            int tml_{{name}}_invoke(const int8_t *input, int8_t *output);

            /* Same, with a caller-provided arena of TML_{{upper}}_ARENA_SIZE bytes, {{plan.Alignment}}-byte aligned (-1 when it is not:
             * the kernels read their int16/int32 scratch and float tensors in it with aligned loads). */
            int tml_{{name}}_invoke_with_arena(uint8_t *arena, const int8_t *input, int8_t *output);

            /* Float convenience: quantizes the input, runs, dequantizes the output. Returns 0 on success. */
            int tml_{{name}}_invoke_f32(const float *input, float *output);

            /* Input quantization / output dequantization with the model's parameters. */
            void tml_{{name}}_quantize_input(const float *x, int8_t *q);
            void tml_{{name}}_dequantize_output(const int8_t *q, float *y);

            {{LearningDeclarations(model, plan, name, upper)}}{{HeaderClose(upper)}}
            """);
        return Normalize(sb);
    }
}
