using TinyML.Plan;

namespace TinyML.Emit;

/// <summary>
/// The C API of a generated model, which follows the element type of its inputs and outputs: an int8 model
/// (<see cref="Int8ModelApi"/>, float32 and int16x8 layers inside it included) takes and returns int8 bytes, a float32
/// model (<see cref="FloatModelApi"/>, <c>Quantize="none"</c>) floats. Either way an entry point checks its arguments,
/// copies the inputs into the arena, runs the ops and copies the outputs out; those entry points are written here once.
/// </summary>
internal abstract class ModelApi
{
    public static ModelApi For(LoweredModel model) => model.IsFloat ? FloatModelApi.Instance : Int8ModelApi.Instance;

    /// <summary>The element type the run function views the arena as (its tensors' offsets index that view).</summary>
    public abstract string ArenaElement { get; }

    /// <summary>The element type of the static arena's storage (it sets the arena's alignment in C).</summary>
    public abstract string ArenaStorageElement { get; }

    /// <summary>The public header.</summary>
    public abstract string Header(LoweredModel model, ArenaPlan plan, string name, string upper, string sourceDescription);

    /// <summary>The source's includes after the model's own header: the kernel headers, then (after a blank line) the
    /// C library's.</summary>
    public abstract (IEnumerable<string> Kernels, IEnumerable<string> Library) Includes(LoweredModel model);

    /// <summary>The line that keeps -Wunused-parameter quiet in a run function, and whether it is written even when a
    /// kernel call uses the arena.</summary>
    public abstract (string Line, bool Always) UnusedArena { get; }

    /// <summary>The entry points after the run function.</summary>
    public abstract string EntryPoints(LoweredModel model, ArenaPlan plan, string name, string upper, ArenaStorage arena);

    /// <summary>The pointer expression of <paramref name="tensor"/> inside the run function's arena view.</summary>
    public string PointerTo(LoweredModel model, ArenaPlan plan, int tensor) => PointerAt(plan.OffsetOf(model, tensor));

    /// <summary>The run function's pointer to byte <paramref name="byteOffset"/> of the arena (a tiled stage's bands).</summary>
    public string PointerAt(int byteOffset) => $"arena + {IndexOf(byteOffset)}";

    /// <summary>What the run function takes after the arena when the model reads its input in place
    /// (<see cref="LoweredModel.InputInPlace"/>): the caller's input (an int8 model's also as floats, for invoke_f32).</summary>
    public virtual string InPlaceRunParameters => ", const int8_t *input, const float *input_f32";

    /// <summary>The run function's arguments after the arena for an input read in place at <paramref name="input"/>.</summary>
    protected virtual string InPlaceRunArguments(string input) => $", {input}, NULL";

    /// <summary>The cast that views the caller's byte arena as <see cref="ArenaElement"/>.</summary>
    protected abstract string ArenaCast { get; }

    /// <summary>What the entry points' names add after <c>invoke</c> (<c>_f32</c> for a float32 model).</summary>
    protected abstract string InvokeSuffix { get; }

    /// <summary>The index in the arena view of a byte offset.</summary>
    protected abstract int IndexOf(int byteOffset);

    /// <summary><c>tml_&lt;name&gt;_invoke[_f32]_with_arena</c> and <c>tml_&lt;name&gt;_invoke[_f32]</c> for one input
    /// and one output.</summary>
    protected string SingleEntryPoints(LoweredModel model, ArenaPlan plan, string name, string upper, ArenaStorage arena)
    {
        var (invoke, type) = ($"tml_{name}_invoke{InvokeSuffix}", ArenaElement);
        var copyInput = model.InputInPlace
            ? "/* the input is read where it is: the model's tiled stage gathers it band by band */"
            : string.Create(CultureInfo.InvariantCulture, $"for (i = 0; i < TML_{upper}_INPUT_SIZE; i++) {{\n        a[{IndexOf(plan.OffsetOf(model, model.Input))} + i] = input[i];\n    }}");
        return string.Create(CultureInfo.InvariantCulture, $$"""
            int {{invoke}}_with_arena(uint8_t *arena, const {{type}} *input, {{type}} *output)
            {
                {{type}} *const a = {{ArenaCast}};
                int32_t i;
                if (arena == NULL || ((uintptr_t)arena & {{plan.Alignment - 1}}u) != 0u || input == NULL || output == NULL) {
                    return -1;
                }
                {{copyInput}}
                tml_{{name}}_run(a{{(model.InputInPlace ? InPlaceRunArguments("input") : "")}});
                for (i = 0; i < TML_{{upper}}_OUTPUT_SIZE; i++) {
                    output[i] = a[{{IndexOf(plan.OffsetOf(model, model.Output))}} + i];
                }
                return 0;
            }

            int {{invoke}}(const {{type}} *input, {{type}} *output)
            {
                return {{invoke}}_with_arena({{arena.BytesExpression}}, input, output);
            }

            """);
    }

    /// <summary><c>tml_&lt;name&gt;_invoke[_f32]_multi_with_arena</c> and <c>tml_&lt;name&gt;_invoke[_f32]_multi</c>:
    /// every input and output through arrays of pointers (a NULL output is skipped).</summary>
    protected string MultiEntryPoints(LoweredModel model, ArenaPlan plan, string name, string upper, ArenaStorage arena)
    {
        var I = CultureInfo.InvariantCulture;
        var (invoke, type) = ($"tml_{name}_invoke{InvokeSuffix}_multi", ArenaElement);
        var sb = new StringBuilder();
        sb.Append(I, $$"""
            int {{invoke}}_with_arena(uint8_t *arena, const {{type}} *const *inputs, {{type}} *const *outputs)
            {
                {{type}} *const a = {{ArenaCast}};
                int32_t i;
                if (arena == NULL || ((uintptr_t)arena & {{plan.Alignment - 1}}u) != 0u || inputs == NULL || outputs == NULL) {
                    return -1;
                }

            """);
        for (var k = 0; k < model.Inputs.Count; k++)
        {
            // An input read in place (the model's only one) is gathered band by band by the tiled stage.
            sb.Append(I, $"    if (inputs[{k}] == NULL) {{\n        return -1;\n    }}\n").Append(k == 0 && model.InputInPlace
                ? "    /* input 0 is read where it is: the model's tiled stage gathers it band by band */\n"
                : string.Create(I, $"    for (i = 0; i < TML_{upper}_INPUT{k}_SIZE; i++) {{\n        a[{IndexOf(plan.OffsetOf(model, model.Inputs[k]))} + i] = inputs[{k}][i];\n    }}\n"));
        }

        sb.Append(I, $"    tml_{name}_run(a{(model.InputInPlace ? InPlaceRunArguments("inputs[0]") : "")});\n");
        for (var k = 0; k < model.Outputs.Count; k++)
        {
            sb.Append(I, $"    if (outputs[{k}] != NULL) {{\n        for (i = 0; i < TML_{upper}_OUTPUT{k}_SIZE; i++) {{\n            outputs[{k}][i] = a[{IndexOf(plan.OffsetOf(model, model.Outputs[k]))} + i];\n        }}\n    }}\n");
        }

        sb.Append(I, $$"""
                return 0;
            }

            int {{invoke}}(const {{type}} *const *inputs, {{type}} *const *outputs)
            {
                return {{invoke}}_with_arena({{arena.BytesExpression}}, inputs, outputs);
            }

            """);
        return sb.ToString();
    }
}
