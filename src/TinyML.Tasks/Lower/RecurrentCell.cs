using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>
/// An ONNX LSTM/GRU node resolved to what the kernels and the references need, with every restriction checked in one
/// place: one direction (forward or reverse), batch 1, the default activations (sigmoid, tanh, tanh), no clip, no
/// input_forget, no peepholes, constant weights, and sequence_lens absent or all equal to the static length. The
/// initial state is a constant (zeros when absent). Gate order is ONNX's: LSTM i, o, f, c; GRU z, r, h.
/// </summary>
public sealed record RecurrentCell(
    RecurrentGeometry Geometry, float[] W, float[] R, float[] WBias, float[] RBias, float[] InitialH, float[] InitialC,
    string? InitialHValue = null, string? InitialCValue = null)
{
    public static RecurrentCell Resolve(Graph graph, Node node)
    {
        var file = graph.SourcePath;
        TinyMLException Unsupported(string what) => new(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': {what}", file);
        bool Has(int i) => node.Inputs.Count > i && node.Inputs[i].Length > 0;
        Tensor Constant(int i, string what) => GraphEdit.Constant(graph, node.Inputs[i]) is { FloatData: not null } t ? t
            : throw Unsupported($"{what} (input {i}) must be a constant float tensor");

        var kind = node.OpType == "LSTM" ? RecurrentKind.Lstm : RecurrentKind.Gru;
        var gates = kind == RecurrentKind.Lstm ? 4 : 3;
        var direction = node.GetString("direction", "forward");
        if (direction is not ("forward" or "reverse"))
        {
            throw Unsupported($"direction '{direction}' is not supported (forward or reverse)");
        }

        if (node.Attributes.ContainsKey("clip"))
        {
            throw Unsupported("clip is not supported");
        }

        if (node.GetInt("input_forget", 0) != 0)
        {
            throw Unsupported("input_forget = 1 is not supported");
        }

        var defaults = kind == RecurrentKind.Lstm ? new[] { "Sigmoid", "Tanh", "Tanh" } : ["Sigmoid", "Tanh"];
        if (node.Attributes.TryGetValue("activations", out var activations) &&
            !(activations.Strings ?? []).SequenceEqual(defaults, StringComparer.OrdinalIgnoreCase))
        {
            throw Unsupported($"activations [{string.Join(", ", activations.Strings ?? [])}] are not supported (only the defaults {string.Join(", ", defaults)})");
        }

        var x = graph.Tensor(node.Inputs[0]).Shape;
        var layout = node.GetInt("layout", 0);
        if (x.Length != 3)
        {
            throw Unsupported($"X must be 3-D, has shape [{string.Join(",", x)}]");
        }

        var (seq, batch, inputSize) = layout == 0 ? (x[0], x[1], x[2]) : (x[1], x[0], x[2]);
        if (batch != 1)
        {
            throw Unsupported($"batch {batch} is not supported (batch 1 only)");
        }

        var w = Constant(1, "W");
        var r = Constant(2, "R");
        if (w.Shape is not [1, var rows, var cols] || cols != inputSize || rows % gates != 0)
        {
            throw Unsupported($"W [{string.Join(",", w.Shape)}] does not match one direction and input size {inputSize}");
        }

        var hidden = rows / gates;
        if (node.GetInt("hidden_size", hidden) != hidden || r.Shape is not [1, var rRows, var rCols] || rRows != rows || rCols != hidden)
        {
            throw Unsupported($"R [{string.Join(",", r.Shape)}] / hidden_size do not match W [{string.Join(",", w.Shape)}]");
        }

        var wBias = new float[rows];
        var rBias = new float[rows];
        if (Has(3))
        {
            var b = Constant(3, "B").FloatData!;
            if (b.Length != 2 * rows)
            {
                throw Unsupported($"B has {b.Length} values, expected {2 * rows}");
            }

            Array.Copy(b, 0, wBias, 0, rows);
            Array.Copy(b, rows, rBias, 0, rows);
        }

        if (Has(4))
        {
            var lengths = GraphEdit.Constant(graph, node.Inputs[4])?.IntData ?? throw Unsupported("sequence_lens must be a constant");
            if (lengths.Any(l => l != seq))
            {
                throw Unsupported($"sequence_lens must equal the static sequence length {seq}");
            }
        }

        float[] State(int i, string what)
        {
            if (!Has(i))
            {
                return new float[hidden];
            }

            if (GraphEdit.Constant(graph, node.Inputs[i]) is null)
            {
                var count = graph.Tensor(node.Inputs[i]).ElementCount;
                return count == hidden ? new float[hidden] : throw Unsupported($"{what} has {count} values, expected {hidden}");
            }

            var data = Constant(i, what).FloatData!;
            return data.Length == hidden ? data : throw Unsupported($"{what} has {data.Length} values, expected {hidden}");
        }

        var initialH = State(5, "initial_h");
        var initialC = kind == RecurrentKind.Lstm ? State(6, "initial_c") : new float[hidden];
        if (kind == RecurrentKind.Lstm && Has(7))
        {
            throw Unsupported("peephole weights P are not supported");
        }

        var geometry = new RecurrentGeometry(kind, seq, inputSize, hidden, direction == "reverse",
            kind == RecurrentKind.Gru && node.GetInt("linear_before_reset", 0) != 0);
        return new RecurrentCell(geometry, w.FloatData!, r.FloatData!, wBias, rBias, initialH, initialC,
            RunTime(5), kind == RecurrentKind.Lstm ? RunTime(6) : null);

        string? RunTime(int i) => Has(i) && GraphEdit.Constant(graph, node.Inputs[i]) is null ? node.Inputs[i] : null;
    }
}
