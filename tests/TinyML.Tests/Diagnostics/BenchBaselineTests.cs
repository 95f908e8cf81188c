using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Verify;

namespace TinyML.Tests.Diagnostics;

/// <summary>
/// The baseline gate of <c>-t:Bench</c> without an emulator: which figure is worse by how much, in which unit, with
/// which code; bench.json read back; bad settings and baselines. (The integration tests run the real thing.)
/// </summary>
[TestClass]
public sealed class BenchBaselineTests
{
    private static BenchEntry Entry(string board = "nrf52840") => new()
    {
        Model = "digits",
        Board = board,
        Image = board + "-qemu",
        Precision = "int8",
        Samples = 450,
        InstructionsPerInference = 100_000,
        InstructionsMin = 99_000,
        InstructionsMax = 101_000,
        ArenaBytes = 1_376,
        FlashBytes = 26_736,
        RamBytes = 4_812,
        Flash = new Dictionary<string, long> { ["weights"] = 4_157, ["modelCode"] = 592, ["kernels"] = 12_916, ["application"] = 9_071 },
        Ram = new Dictionary<string, long> { ["arena"] = 1_376, ["stack"] = 2_048, ["application"] = 1_388 },
        StackHighWaterBytes = 524,
        FloatAccuracyPercent = 97.78,
        AccuracyPercent = 98.0,
        Top1AgreementPercent = 99.78,
        OutputSnrDb = 37.67,
    };

    [TestMethod]
    public void The_same_figures_pass()
    {
        Assert.IsEmpty(Benchmark.Compare([Entry()], [Entry()], Benchmark.DefaultTolerance, "bench.baseline.json"));
    }

    [TestMethod]
    public void Each_figure_worse_than_the_tolerance_is_one_error_with_its_code()
    {
        var now = Entry() with
        {
            InstructionsPerInference = 102_001, // +2.001 %
            FlashBytes = 26_736 + 535, // +2.001 %
            StackHighWaterBytes = 534, // +1.9 %: within
            AccuracyPercent = 95.9, // -2.1 points
            OutputSnrDb = 35.7, // -1.97 dB: within
        };

        var diagnostics = Benchmark.Compare([now], [Entry()], 2, "/repo/bench.baseline.json");

        CollectionAssert.AreEqual(new[] { ErrorCodes.BenchSlower, ErrorCodes.BenchBigger, ErrorCodes.BenchLessAccurate }, diagnostics.Select(d => d.Code).ToArray());
        Assert.IsTrue(diagnostics.All(d => d.Severity == Severity.Error));
        Assert.AreEqual("bench regression: model 'digits' on nrf52840: instructions per inference 100,000 -> 102,001 (+2.00 %; tolerance 2 %; baseline bench.baseline.json)", diagnostics[0].Message);
        Assert.AreEqual("bench regression: model 'digits' on nrf52840: flash 26,736 B -> 27,271 B (+2.00 %; tolerance 2 %; baseline bench.baseline.json)", diagnostics[1].Message);
        Assert.AreEqual("bench regression: model 'digits' on nrf52840: accuracy 98.00 % -> 95.90 % (-2.10 points; tolerance 2 points; baseline bench.baseline.json)", diagnostics[2].Message);
    }

    [TestMethod]
    public void Better_figures_and_a_larger_tolerance_pass()
    {
        var better = Entry() with { InstructionsPerInference = 50_000, FlashBytes = 1_000, AccuracyPercent = 100 };
        Assert.IsEmpty(Benchmark.Compare([better], [Entry()], 2, "b.json"));
        var worse = Entry() with { InstructionsPerInference = 110_000 };
        Assert.HasCount(1, Benchmark.Compare([worse], [Entry()], 2, "b.json"));
        Assert.IsEmpty(Benchmark.Compare([worse], [Entry()], 10, "b.json"));
    }

    [TestMethod]
    public void A_model_or_board_on_one_side_only_is_a_warning()
    {
        var diagnostics = Benchmark.Compare([Entry("esp32c3")], [Entry()], 2, "b.json");

        CollectionAssert.AreEqual(new[] { ErrorCodes.BenchBaselineEntryMissing, ErrorCodes.BenchBaselineEntryMissing }, diagnostics.Select(d => d.Code).ToArray());
        Assert.IsTrue(diagnostics.All(d => d.Severity == Severity.Warning));
        StringAssert.Contains(diagnostics[0].Message, "model 'digits' on esp32c3 has no entry in the bench baseline b.json");
        StringAssert.Contains(diagnostics[1].Message, "has model 'digits' on nrf52840, which this bench did not measure");
    }

    [TestMethod]
    public void Bench_json_reads_back_as_written()
    {
        var dir = TestPaths.NewTempDir("bench-json");
        var path = Path.Combine(dir, "bench.json");
        File.WriteAllText(path, Benchmark.ToJson([Entry(), Entry("esp32c3")]));

        var read = Benchmark.ReadJson(path);

        Assert.HasCount(2, read);
        Assert.AreEqual(Benchmark.ToJson([Entry(), Entry("esp32c3")]), Benchmark.ToJson(read));
        Assert.IsEmpty(Benchmark.Compare([Entry(), Entry("esp32c3")], read, 0, path));
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("{ \"schema\": 2, \"entries\": [] }")]
    [DataRow("{ \"schema\": 1 }")]
    [DataRow("{ \"schema\": 1, \"entries\": [ { \"board\": \"x\" } ] }")]
    [DataRow("[1, 2]")]
    public void A_baseline_that_is_not_a_bench_json_is_TML7013(string text)
    {
        var path = Path.Combine(TestPaths.NewTempDir("bench-bad"), "bench.baseline.json");
        File.WriteAllText(path, text);

        var error = Assert.ThrowsExactly<TinyMLException>(() => Benchmark.ReadJson(path));

        Assert.AreEqual(ErrorCodes.BenchBaselineUnreadable, error.Code, error.Message);
        StringAssert.Contains(error.Message, "is not a bench.json the SDK wrote");
    }

    [TestMethod]
    public void A_missing_baseline_is_TML7013_saying_how_to_make_one()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => Benchmark.ReadJson(Path.Combine(TestPaths.NewTempDir("bench-missing"), "none.json")));

        Assert.AreEqual(ErrorCodes.BenchBaselineUnreadable, error.Code);
        StringAssert.Contains(error.Message, "TinyMLBenchUpdateBaseline=true");
    }

    [TestMethod]
    [DataRow("-1")]
    [DataRow("two")]
    [DataRow("NaN")]
    [DataRow("Infinity")]
    public void A_bad_tolerance_is_TML7004(string text)
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => BenchCommand.ParseTolerance(text));
        Assert.AreEqual(ErrorCodes.InvalidValidateSetting, error.Code);
    }

    [TestMethod]
    public void Tolerance_and_MinAccuracy_parse()
    {
        Assert.AreEqual(2.0, BenchCommand.ParseTolerance(""));
        Assert.AreEqual(0.5, BenchCommand.ParseTolerance("0.5"));
        Assert.AreEqual(3.0, BenchCommand.ParseTolerance("3%"));
        Assert.IsNull(ValidateCommand.ParseMinAccuracy(" "));
        Assert.AreEqual(95.5, ValidateCommand.ParseMinAccuracy("95.5"));
        foreach (var bad in new[] { "101", "-1", "high" })
        {
            Assert.AreEqual(ErrorCodes.InvalidValidateSetting, Assert.ThrowsExactly<TinyMLException>(() => ValidateCommand.ParseMinAccuracy(bad)).Code, bad);
        }
    }
}
