using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;

namespace TinyML.Tests.Qdq;

/// <summary>
/// One of the shared MLPerf Tiny QDQ oracles: the ONNX QDQ model, the int8 inputs TFLite Micro was given (converted to
/// our NCHW layout) and the int8 bytes TFLM produced for its output and for the tensor feeding its Softmax.
/// </summary>
internal sealed record TflmQdqOracle(string Name, string ModelPath, IReadOnlyList<sbyte[]> Inputs, IReadOnlyList<sbyte[]> Outputs, IReadOnlyList<sbyte[]>? Logits)
{
    public static TflmQdqOracle Load(string model)
    {
        var folder = TestPaths.SharedOrSkip($"models/mlperf_tiny_{model}_int8_qdq");
        var data = Path.Combine(folder, "test_data");
        var inputs = Npy.Read(Path.Combine(data, "input_int8.npy"));
        var logitsPath = Path.Combine(data, "tflm_logits_int8.npy");
        return new TflmQdqOracle(
            model,
            Path.Combine(folder, "model.onnx"),
            Rows(inputs, nhwcToNchw: true),
            Rows(Npy.Read(Path.Combine(data, "tflm_output_int8.npy")), nhwcToNchw: false),
            File.Exists(logitsPath) ? Rows(Npy.Read(logitsPath), nhwcToNchw: false) : null);
    }

    /// <summary>Compiles the model for <paramref name="board"/> (null = CompileOptions' default): the board's core picks the
    /// kernels and sets the plan's arena alignment (16 bytes on Helium boards).</summary>
    public CompileResult Compile(string outputDirectory, TextWriter log, string? board = null)
    {
        var options = new CompileOptions { ModelPath = ModelPath, Name = Name, OutputDirectory = outputDirectory };
        return ModelCompiler.Compile(board is null ? options : options with { Board = board }, log);
    }

    /// <summary>The tensor TFLM printed as "softmax input": the input of the model's Softmax.</summary>
    public static int SoftmaxInput(LoweredModel model) => model.Ops.OfType<QSoftmax>().Single().Inputs[0];

    /// <summary>Splits [N, ...] into N samples; TFLite images are NHWC, the ONNX model (and our firmware) NCHW.</summary>
    private static List<sbyte[]> Rows(NpyArray array, bool nhwcToNchw)
    {
        var all = array.ToInt8();
        var count = array.Shape[0];
        var size = all.Length / count;
        var rows = new List<sbyte[]>(count);
        for (var n = 0; n < count; n++)
        {
            var row = all.AsSpan(n * size, size).ToArray();
            if (nhwcToNchw && array.Shape.Length == 4 && array.Shape[3] > 1)
            {
                int h = array.Shape[1], w = array.Shape[2], c = array.Shape[3];
                var nchw = new sbyte[size];
                for (var y = 0; y < h; y++)
                {
                    for (var x = 0; x < w; x++)
                    {
                        for (var ch = 0; ch < c; ch++)
                        {
                            nchw[(ch * h + y) * w + x] = row[(y * w + x) * c + ch];
                        }
                    }
                }

                row = nchw;
            }

            rows.Add(row);
        }

        return rows;
    }
}
