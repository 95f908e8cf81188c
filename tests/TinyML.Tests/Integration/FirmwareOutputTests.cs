using TinyML.MSBuild;

namespace TinyML.Tests.Integration;

/// <summary>Fast checks of the parsers the integration tests and the MSBuild tasks rely on.</summary>
[TestClass]
public sealed class FirmwareOutputTests
{
    [TestMethod]
    public void Parses_sample_lines_from_a_build_log()
    {
        const string log = """
              board: nrf52840, model: digits, arena: 512 bytes
              sample 0: label 3 predicted 3 score 0.912 out -128,-120,0,100,-128,-128,-128,-128,-128,127
              sample 1: label 5 predicted 2 score -0.500 out 1,2,3,4,5,6,7,8,9,10
              accuracy: 1/2
              instructions per inference: 123440
            """;

        var parsed = FirmwareOutput.Parse(log);

        Assert.HasCount(2, parsed.Samples);
        Assert.AreEqual(new FirmwareSample(0, 3, 3, 0.912, parsed.Samples[0].Outputs), parsed.Samples[0]);
        CollectionAssert.AreEqual(new sbyte[] { -128, -120, 0, 100, -128, -128, -128, -128, -128, 127 }, parsed.Samples[0].Outputs.ToArray());
        Assert.AreEqual(-0.5, parsed.Samples[1].Score);
        Assert.AreEqual(1, parsed.Correct);
        Assert.AreEqual(2, parsed.Count);
        Assert.AreEqual(123440L, parsed.InstructionsPerInference);
        Assert.IsNull(parsed.TicksPerInference);
    }

    [TestMethod]
    public void Parses_ticks_when_the_board_has_no_instruction_factor()
    {
        Assert.AreEqual(42L, FirmwareOutput.Parse("ticks per inference: 42\n").TicksPerInference);
    }

    [TestMethod]
    [DataRow("model.onnx(3,7): error TML1002: unsupported op", "error", "TML1002", "model.onnx", 3, 7)]
    [DataRow("tinymlc: error TML9999: internal compiler error", "error", "TML9999", null, 0, 0)]
    [DataRow(@"C:\work\main.c(12,1): warning TML5103: unused variable", "warning", "TML5103", @"C:\work\main.c", 12, 1)]
    [DataRow("/tmp/digits.onnx: warning TML2001: no calibration data", "warning", "TML2001", "/tmp/digits.onnx", 0, 0)]
    public void Task_parses_canonical_diagnostics(string line, string severity, string code, string? file, int lineNumber, int column)
    {
        Assert.IsTrue(CanonicalDiagnosticParser.TryParse(line, out var d));
        Assert.AreEqual(severity, d.Severity);
        Assert.AreEqual(code, d.Code);
        Assert.AreEqual(file, d.File);
        Assert.AreEqual(lineNumber, d.Line);
        Assert.AreEqual(column, d.Column);
    }

    [TestMethod]
    [DataRow("tinyml: digits: 12 ops, arena 3 KiB")]
    [DataRow("sample 0: label 3 predicted 3 score 0.912 out 1,2")]
    [DataRow("error: something without a code")]
    public void Task_leaves_other_lines_as_messages(string line) =>
        Assert.IsFalse(CanonicalDiagnosticParser.TryParse(line, out _));
}
