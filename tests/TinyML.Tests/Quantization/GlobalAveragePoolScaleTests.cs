using System.Globalization;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Tests.EndToEnd;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Quantization;

/// <summary>
/// int8 GlobalAveragePool takes its own calibrated output range, as TFLite's MEAN does: the mean of a plane spans far
/// less than its values (a few spikes set the input's range), so at the input's scale it would use a few of the 256
/// levels. The squeeze-excitation branches of MobileNetV3 lost ~5 dB that way.
/// </summary>
[TestClass]
public sealed class GlobalAveragePoolScaleTests
{
    private static readonly int[] Shape = [1, 8, 8, 8];

    [TestMethod]
    public void A_mean_of_spiky_planes_gets_its_own_scale_and_keeps_its_precision()
    {
        var work = TestPaths.NewTempDir("gap-scale");
        var graph = new GraphProto { Name = "gap" };
        graph.Input.Add(FloatInput("x", Shape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(FloatInput("y", 1, 8, 1, 1));
        graph.Node.Add(Node("GlobalAveragePool", "pool", ["x"], ["y"]));
        var model = new ModelProto { IrVersion = 7, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        var path = model.Save(work);

        var samples = Samples(24, 5);
        var data = Path.Combine(work, "calib");
        Directory.CreateDirectory(data);
        for (var i = 0; i < 16; i++)
        {
            Npy.Write(Path.Combine(data, $"s{i}.npy"), Shape, samples[i]);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "gap", CalibrationData = data, OutputDirectory = code, Board = "nrf52840" }, TextWriter.Null);

        var mean = compiled.Model.AllOps.OfType<QReduceMean>().Single();
        var input = compiled.Model.Tensors[mean.Inputs[0]];
        var output = compiled.Model.Tensors[mean.Output];
        Assert.IsLessThan(input.Scale / 8, output.Scale, $"output scale {output.Scale} vs input scale {input.Scale}: the means' own range");

        // Held-out samples: C on the host and on the Cortex-M4 byte for byte the C# reference; SNR against ONNX Runtime.
        var heldOut = samples.Skip(16).ToList();
        var figures = ModelVerification.Verify(compiled, code, path, heldOut, null, work, runQemu: true);
        // At the input's scale the means would round to steps of s_in; with their own scale what remains is mostly the
        // input's own rounding, averaged over 64 values.
        var atInputScale = Snr(heldOut, sample => Quantized(Mean(sample), input.Scale, input.ZeroPoint));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GlobalAveragePool int8: {figures.SnrDb:0.0} dB against ONNX Runtime (scale {output.Scale:G4}); at the input's scale {input.Scale:G4}: {atInputScale:0.0} dB"));
        Assert.IsGreaterThan(20.0, figures.SnrDb);
        Assert.IsGreaterThan(atInputScale + 10, figures.SnrDb);
    }

    /// <summary>
    /// Each plane: a level of its own (within +-0.5) plus noise of a few tenths, and one +60 and one -60 spike that
    /// cancel in the mean: the spikes set the input's range, the levels are what the mean carries.
    /// </summary>
    private static List<float[]> Samples(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var x = new float[8 * 64];
            for (var c = 0; c < 8; c++)
            {
                var level = (float)(random.NextDouble() - 0.5);
                for (var i = 0; i < 64; i++)
                {
                    x[c * 64 + i] = level + (float)(random.NextDouble() - 0.5) * 0.4f;
                }

                var up = random.Next(64);
                var down = (up + 1 + random.Next(63)) % 64;
                x[c * 64 + up] = 60f;
                x[c * 64 + down] = -60f;
            }

            return x;
        }).ToList();
    }

    private static float[] Mean(float[] sample) =>
        Enumerable.Range(0, 8).Select(c => sample.Skip(c * 64).Take(64).Sum() / 64f).ToArray();

    private static float[] Quantized(float[] values, float scale, int zeroPoint) =>
        values.Select(v => QuantizationMath.Dequantize(QuantizationMath.QuantizeFloat(v, scale, zeroPoint), scale, zeroPoint)).ToArray();

    private static double Snr(IEnumerable<float[]> samples, Func<float[], float[]> approximate)
    {
        double signal = 0, noise = 0;
        foreach (var sample in samples)
        {
            var exact = Mean(sample);
            var approx = approximate(sample);
            for (var i = 0; i < exact.Length; i++)
            {
                signal += (double)exact[i] * exact[i];
                noise += (double)(exact[i] - approx[i]) * (exact[i] - approx[i]);
            }
        }

        return 10 * Math.Log10(signal / noise);
    }
}
