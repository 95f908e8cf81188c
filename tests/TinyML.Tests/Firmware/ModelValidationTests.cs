using TinyML.Diagnostics;
using TinyML.Firmware;
using TinyML.Pipeline;
using TinyML.Tests.Import;
using TinyML.Verify;

namespace TinyML.Tests.Firmware;

/// <summary>
/// <see cref="ModelValidation"/> (what <c>-t:Validate</c> and <c>-t:Bench</c> run) on the host board, which needs only
/// gcc: int8 byte for byte, float32 within the tolerance, a corrupted kernel build caught with the first sample and
/// element, the float model's figures against ONNX Runtime. The emulated boards run in ValidateBenchIntegrationTests.
/// </summary>
[TestClass]
public sealed class ModelValidationTests
{
    private static void RequireHostGcc()
    {
        if (Toolchain.FindOnPath("gcc") is null)
        {
            Assert.Inconclusive("SKIPPED: gcc is not on PATH");
        }
    }

    /// <summary>A Gemm+Relu model and 12 random samples (a fixed seed) as ValidationData.</summary>
    private static CompileOptions Model(string dir, ModelPrecision precision)
    {
        var model = OnnxTestModels.GemmRelu().Save(dir);
        var random = new Random(13);
        var samples = Path.Combine(dir, "validation");
        Directory.CreateDirectory(samples);
        for (var i = 0; i < 12; i++)
        {
            var values = Enumerable.Range(0, 4).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
            TinyML.Import.Npy.Write(Path.Combine(samples, $"s{i:00}.npy"), [1, 4], values);
        }

        return new CompileOptions
        {
            ModelPath = model, Name = "tiny", Board = "host", CalibrationData = samples, ValidationData = samples, Precision = precision,
        };
    }

    private static HarnessSettings Harness(string dir, string kernels) => new(kernels, Path.Combine(dir, "work"));

    [TestMethod]
    public void An_int8_model_validates_byte_for_byte_on_the_host()
    {
        RequireHostGcc();
        var dir = TestPaths.NewTempDir("validate-int8");
        var options = Model(dir, ModelPrecision.Int8);

        var result = ModelValidation.Run(new ValidationRequest(options, "host", Harness(dir, TestPaths.Kernels)), TextWriter.Null);

        Assert.IsNull(result.FirstMismatch);
        Assert.AreEqual(12, result.Samples);
        Assert.AreEqual("int8", result.Precision);
        Assert.AreEqual("ONNX Runtime", result.FloatSource);
        Assert.IsGreaterThan(20.0, result.OutputSnrDb, "int8 Gemm+Relu against ONNX Runtime");
        Assert.IsEmpty(ModelValidation.Problems(result));
        Assert.IsNull(result.Instructions, "the host counts no instructions");
    }

    [TestMethod]
    public void A_float32_model_validates_within_the_tolerance_on_the_host()
    {
        RequireHostGcc();
        var dir = TestPaths.NewTempDir("validate-f32");
        var options = Model(dir, ModelPrecision.Float32);

        var result = ModelValidation.Run(new ValidationRequest(options, "host", Harness(dir, TestPaths.Kernels)), TextWriter.Null);

        Assert.IsTrue(result.Float32);
        Assert.IsNull(result.FirstMismatch);
        Assert.IsLessThan(1e-4, result.MaxReferenceError);
        Assert.IsGreaterThan(80.0, result.OutputSnrDb, "float32 C against ONNX Runtime");
        StringAssert.Contains(ValidationReport.ToMarkdown(result), "within |firmware - reference| <= 1e-3 x |reference| + 1e-5 x the output's largest |reference|");
    }

    [TestMethod]
    public void A_corrupted_kernel_build_is_TML7001_naming_the_first_sample_and_element()
    {
        RequireHostGcc();
        var dir = TestPaths.NewTempDir("validate-corrupt");
        var options = Model(dir, ModelPrecision.Int8);
        var kernels = Path.Combine(dir, "kernels");
        foreach (var file in Directory.GetFiles(TestPaths.Kernels, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var target = Path.Combine(kernels, Path.GetRelativePath(TestPaths.Kernels, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        // Every int8 output one higher: the requantization adds one to the output zero point.
        var header = Path.Combine(kernels, "src", "tml_internal.h");
        const string Exact = "return (int8_t)tml_clamp_i32(tml_asr(h, right_shift) + zp_out, act_min, act_max);";
        var text = File.ReadAllText(header);
        StringAssert.Contains(text, Exact, "the fast requantization changed; corrupt another line");
        File.WriteAllText(header, text.Replace(Exact, "return (int8_t)tml_clamp_i32(tml_asr(h, right_shift) + zp_out + 1, act_min, act_max);", StringComparison.Ordinal));

        var result = ModelValidation.Run(new ValidationRequest(options, "host", Harness(dir, kernels)), TextWriter.Null);

        var mismatch = result.FirstMismatch;
        Assert.IsNotNull(mismatch);
        Assert.AreEqual(0, mismatch.Sample);
        Assert.AreEqual(0, mismatch.Output);
        Assert.AreEqual(int.Parse(mismatch.Reference, System.Globalization.CultureInfo.InvariantCulture) + 1, int.Parse(mismatch.Firmware, System.Globalization.CultureInfo.InvariantCulture));
        var problem = ModelValidation.Problems(result).Single();
        Assert.AreEqual(ErrorCodes.ValidationMismatch, problem.Code);
        StringAssert.Contains(problem.Message, $"first at sample 0 (");
        StringAssert.Contains(problem.Message, $"output 0 '{mismatch.OutputName}' element {mismatch.Element}");
        StringAssert.StartsWith(ValidationReport.ToMarkdown(result), "# tiny: on-target validation on host\n\n**FAILED**");
    }

    [TestMethod]
    public void A_board_without_an_emulator_is_TML7008_before_any_work()
    {
        var dir = TestPaths.NewTempDir("validate-esp32");
        var options = Model(dir, ModelPrecision.Int8) with { Board = "esp32" };

        var error = Assert.ThrowsExactly<TinyMLException>(() =>
            ModelValidation.Run(new ValidationRequest(options, "esp32s3", Harness(dir, TestPaths.Kernels)), TextWriter.Null));

        Assert.AreEqual(ErrorCodes.NoEmulatorToValidate, error.Code);
        StringAssert.Contains(error.Message, "board 'esp32s3' has no emulator");
        StringAssert.Contains(error.Message, "esp32c3");
        Assert.IsFalse(Directory.Exists(Path.Combine(dir, "work")), "nothing built");
    }

    /// <summary>
    /// The MACs -t:Bench and bench/ report (instructions per MAC) against the independent count in
    /// ../shared/docs/baselines.md, made from TFLite's graphs of the same four MLPerf Tiny int8 models.
    /// </summary>
    [TestMethod]
    [DataRow("kws_dscnn", 2_656_768L)]
    [DataRow("vww_mobilenetv1_025", 7_489_664L)]
    [DataRow("ic_resnet8", 12_501_632L)]
    [DataRow("ad_fc_autoencoder", 264_192L)]
    public void Macs_are_those_of_the_tflite_graphs(string model, long expected)
    {
        var folder = TestPaths.SharedOrSkip($"models/mlperf_tiny_{model}_int8_qdq");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = Path.Combine(folder, "model.onnx"), Name = "m" }, TextWriter.Null);
        Assert.AreEqual(expected, ModelValidation.Macs(compiled.Model));
    }

    /// <summary>The boards bench/ runs on: every user board with an emulator image, then the verification core; none without one.</summary>
    [TestMethod]
    public void Emulated_boards_are_the_user_boards_with_an_emulator_then_the_verification_cores()
    {
        var names = ModelValidation.EmulatedBoards.Select(b => b.Name).ToList();
        CollectionAssert.IsSubsetOf(new[] { "nrf52840", "stm32f746", "rp2040", "esp32c3", "corstone300", "lx106-qemu" }, names);
        CollectionAssert.DoesNotContain(names, "esp32");
        CollectionAssert.DoesNotContain(names, "host");
        CollectionAssert.DoesNotContain(names, "nrf52840-qemu");
        CollectionAssert.AreEqual(Boards.Verification.Select(b => b.Name).ToList(), names.Skip(names.Count - Boards.Verification.Count).ToList());
    }
}
