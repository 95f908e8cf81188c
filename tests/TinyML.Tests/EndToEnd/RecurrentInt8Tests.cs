using TinyML.Import;
using TinyML.Pipeline;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// int8 LSTM/GRU (tml_lstm_s8 / tml_gru_s8) through the whole int8 pipeline on the small models of
/// <see cref="RecurrentOpTests"/>: calibrated with ONNX Runtime, host C == C# reference byte for byte, SNR vs ORT printed.
/// One LSTM also runs on the nrf52840 in QEMU: the Cortex-M4F build is where a fused multiply-add would break the
/// byte-for-byte equality of the float32 internals.
/// </summary>
[TestClass]
public sealed class RecurrentInt8Tests
{
    [TestMethod]
    [DataRow("lstm_y", false, 25.0)]
    [DataRow("lstm_reverse_state", false, 20.0)]
    [DataRow("lstm_no_bias_y_h", false, 20.0)]
    [DataRow("gru_y", false, 25.0)]
    [DataRow("gru_linear_before_reset_reverse", false, 25.0)]
    [DataRow("gru_no_bias_y_h", false, 20.0)]
    public void Int8MatchesReferenceAndTracksOnnxRuntime(string name, bool runQemu, double minimumSnrDb)
    {
        var figures = CompileAndVerify(name, runQemu);
        Assert.IsTrue(figures.SnrDb >= minimumSnrDb, $"{name}: SNR {figures.SnrDb:0.0} dB below {minimumSnrDb} dB");
    }

    [TestMethod]
    public void Int8LstmAndGruOnCortexM4InQemuAreByteIdentical()
    {
        CompileAndVerify("lstm_y", runQemu: true);
        CompileAndVerify("gru_linear_before_reset_reverse", runQemu: true);
    }

    private static ModelVerification.Figures CompileAndVerify(string name, bool runQemu)
    {
        var work = TestPaths.NewTempDir("rnn8-" + name);
        var modelPath = RecurrentOpTests.Build(name).Save(work);
        var calibration = Path.Combine(work, "calibration");
        Directory.CreateDirectory(calibration);
        var samples = RecurrentOpTests.Samples(24, 11);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(calibration, $"input_{i:00}.npy"), [7, 1, 3], samples[i]);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, CalibrationData = Path.Combine(calibration, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        Assert.IsTrue(compiled.Model.AllOps.Any(op => op is Ir.QRecurrent), "the recurrent node lowers to one int8 op");
        StringAssert.Contains(compiled.Code.Source, name.StartsWith("lstm", StringComparison.Ordinal) ? "tml_lstm_s8(" : "tml_gru_s8(");
        return ModelVerification.Verify(compiled, code, modelPath, RecurrentOpTests.Samples(8, 3), null, work, runQemu);
    }
}
