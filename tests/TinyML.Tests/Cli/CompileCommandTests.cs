using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Emit;
using TinyML.Import;
using TinyML.MSBuild;
using TinyML.Quantize;
using TinyML.Tests.Import;

namespace TinyML.Tests.Cli;

/// <summary>
/// tinymlc's own checks of what the SDK's targets (or a user) pass it: each bad value is a coded error before any
/// output is written, a failed compile leaves none of the previous outputs behind, and outputs are rewritten only when
/// their bytes change.
/// </summary>
[TestClass]
public sealed class CompileCommandTests
{
    [TestMethod]
    public void A_missing_response_file_is_a_coded_error_not_an_empty_command_line()
    {
        var missing = Path.Combine(TestPaths.NewTempDir("rsp"), "no such.rsp");

        var error = Assert.ThrowsExactly<TinyMLException>(() => new CliArgs(["@" + missing]));
        var folder = Assert.ThrowsExactly<TinyMLException>(() => new CliArgs(["@" + Path.GetDirectoryName(missing)]));
        var empty = Assert.ThrowsExactly<TinyMLException>(() => new CliArgs(["@"]));

        Assert.AreEqual(ErrorCodes.ResponseFileMissing, error.Code);
        StringAssert.Contains(error.Message, missing);
        Assert.AreEqual(ErrorCodes.ResponseFileMissing, folder.Code);
        StringAssert.Contains(folder.Message, "it is a folder");
        Assert.AreEqual(ErrorCodes.ResponseFileMissing, empty.Code);
    }

    [TestMethod]
    public void A_response_file_in_a_folder_with_a_space_or_a_quote_reaches_the_compiler_as_one_argument()
    {
        if (!File.Exists("/usr/bin/printf"))
        {
            Assert.Inconclusive("SKIPPED: /usr/bin/printf is needed to see how the command line splits");
        }

        // The task's command line, split exactly as ToolTask's Process.Start splits it.
        var rsp = "/tmp/my \"project\" (1);50%#é\\/obj/Debug/nrf52840/tinyml/digits.compile.rsp";
        var commandLine = ToolCommandLine.For("/pkgs/tinyml sdk/tools/TinyML.Tasks.dll", "compile", rsp);
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/printf", "\"[%s]\\n\" " + commandLine)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(psi)!;
        var arguments = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        process.WaitForExit();

        CollectionAssert.AreEqual(
            new[] { "[exec]", "[/pkgs/tinyml sdk/tools/TinyML.Tasks.dll]", "[compile]", $"[@{rsp}]" }, arguments, commandLine);
    }

    [TestMethod]
    [DataRow("../../pwn")]
    [DataRow("/tmp/pwn")]
    [DataRow("x;evil")]
    [DataRow("my model")]
    [DataRow("1net")]
    [DataRow("")]
    public void A_name_that_is_not_a_C_identifier_is_refused_before_anything_is_written(string name)
    {
        var dir = TestPaths.NewTempDir("cli-name");
        var model = OnnxTestModels.GemmRelu().Save(dir);
        var output = Path.Combine(dir, "out");

        var error = Assert.ThrowsExactly<TinyMLException>(() =>
            CompileCommand.Run(new CliArgs(["--model", model, "--name", name, "--out", output]), TextWriter.Null));

        Assert.AreEqual(ErrorCodes.InvalidModelName, error.Code);
        StringAssert.Contains(error.Message, "--name");
        Assert.IsFalse(Directory.Exists(output), "nothing may be written");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "..", "pwn.c")));
    }

    [TestMethod]
    public void Metadata_spelling_names_the_metadata_and_a_long_name_is_refused()
    {
        var dir = TestPaths.NewTempDir("cli-name");
        var model = OnnxTestModels.GemmRelu().Save(dir);

        var error = Assert.ThrowsExactly<TinyMLException>(() => CompileCommand.Run(
            new CliArgs(["--from-msbuild", "--model", model, "--name", new string('a', CIdentifier.MaxLength + 1), "--out", dir]), TextWriter.Null));

        Assert.AreEqual(ErrorCodes.InvalidModelName, error.Code);
        StringAssert.StartsWith(error.Message, "ModelName '");
        Assert.IsTrue(CIdentifier.IsValid(new string('a', CIdentifier.MaxLength)));
    }

    [TestMethod]
    [DataRow("--board", "foo", "TML5004")]
    [DataRow("--calibration-samples", "-3", "TML2006")]
    [DataRow("--calibration-samples", "0", "TML2006")]
    [DataRow("--calibration-samples", "ten", "TML2006")]
    [DataRow("--input-shape", "x=1xten", "TML1003")]
    [DataRow("--constant-input", "sr", "TML1007")]
    [DataRow("--layer-precision", "gemm_1", "TML2020")]
    public void A_bad_option_fails_with_its_code_and_deletes_the_previous_outputs(string option, string value, string code)
    {
        var dir = TestPaths.NewTempDir("cli-bad");
        var model = OnnxTestModels.GemmRelu().Save(dir);
        var output = Path.Combine(dir, "out");
        CompileCommand.Run(new CliArgs(["--model", model, "--name", "tiny", "--out", output]), TextWriter.Null);
        Assert.IsTrue(File.Exists(Path.Combine(output, "tiny.c")));

        var error = Assert.ThrowsExactly<TinyMLException>(() =>
            CompileCommand.Run(new CliArgs(["--model", model, "--name", "tiny", "--out", output, option, value]), TextWriter.Null));

        Assert.AreEqual(code, error.Code, error.Message);
        var left = Directory.GetFiles(output).Select(Path.GetFileName).ToList();
        Assert.IsEmpty(left, $"a failed compile left {string.Join(", ", left)} behind");
    }

    [TestMethod]
    public void Quantize_none_with_calibration_settings_warns_that_they_are_ignored()
    {
        var dir = TestPaths.NewTempDir("cli-float");
        var model = OnnxTestModels.GemmRelu().Save(dir);
        Directory.CreateDirectory(Path.Combine(dir, "calib"));
        var msbuild = new StringWriter();
        var cli = new StringWriter();
        var quiet = new StringWriter();

        CompileCommand.Run(new CliArgs(["--from-msbuild", "--model", model, "--out", dir, "--quantize", "none",
            "--calibration", Path.Combine(dir, "calib"), "--calibration-samples", "8"]), msbuild);
        CompileCommand.Run(new CliArgs(["--model", model, "--out", dir, "--quantize", "none", "--calibration", "calib/"]), cli);
        CompileCommand.Run(new CliArgs(["--model", model, "--out", dir, "--quantize", "none"]), quiet);

        var warning = msbuild.ToString().Split('\n').Single(l => l.Contains("warning TML2004", StringComparison.Ordinal));
        StringAssert.Contains(warning, "CalibrationData=\"");
        StringAssert.Contains(warning, "CalibrationSamples=\"8\"");
        StringAssert.Contains(warning, "Quantize=\"none\"");
        StringAssert.Contains(cli.ToString(), "warning TML2004: --calibration calib/ is ignored");
        Assert.DoesNotContain("TML2004", quiet.ToString());
    }

    [TestMethod]
    public void Metadata_lists_get_messages_in_metadata_spelling_and_cli_values_in_cli_spelling()
    {
        var metadata = Assert.ThrowsExactly<TinyMLException>(() => ImportOptions.FromStrings(["input=1x512;h=2x1xfoo"], [], OptionSpelling.MSBuild));
        var cli = Assert.ThrowsExactly<TinyMLException>(() => ImportOptions.FromStrings(["h=2,1,foo"], []));
        var twice = Assert.ThrowsExactly<TinyMLException>(() => ImportOptions.FromStrings(["h=1x2;h=1x3"], [], OptionSpelling.MSBuild));
        var constant = Assert.ThrowsExactly<TinyMLException>(() => ImportOptions.FromStrings([], ["sr=16000;gain"], OptionSpelling.MSBuild));
        var layers = Assert.ThrowsExactly<TinyMLException>(() => PrecisionSettings.ParseLayers(["conv1=float;conv2"], "m", OptionSpelling.Cli));

        Assert.AreEqual(ErrorCodes.DynamicShape, metadata.Code);
        StringAssert.Contains(metadata.Message, "InputShape entry 'h=2x1xfoo'");
        StringAssert.Contains(metadata.Message, "InputShape=\"input=1x3x96x96\"");
        Assert.DoesNotContain("--input-shape", metadata.Message);
        StringAssert.Contains(cli.Message, "--input-shape 'h=2,1,foo'");
        Assert.DoesNotContain("InputShape", cli.Message);
        StringAssert.Contains(twice.Message, "gives input 'h' twice");
        Assert.AreEqual(ErrorCodes.ControlFlowOnRuntimeInput, constant.Code);
        StringAssert.Contains(constant.Message, "ConstantInputs entry 'gain'");
        StringAssert.Contains(layers.Message, "--layer-precision conv1=float");
        Assert.HasCount(3, ImportOptions.FromStrings(["input=1x512;h=2x1x64;c=2x1x64"], [], OptionSpelling.MSBuild).InputShapes);
    }

    [TestMethod]
    public void Outputs_are_rewritten_only_when_their_bytes_change()
    {
        var path = Path.Combine(TestPaths.NewTempDir("output-file"), "model.c");
        Assert.IsTrue(OutputFile.WriteTextIfChanged(path, "int x;\n"));
        var old = DateTime.UtcNow.AddHours(-1);
        File.SetLastWriteTimeUtc(path, old);

        Assert.IsFalse(OutputFile.WriteTextIfChanged(path, "int x;\n"));
        Assert.AreEqual(old, File.GetLastWriteTimeUtc(path));
        Assert.IsTrue(OutputFile.WriteTextIfChanged(path, "int y;\n"));
        Assert.AreEqual("int y;\n", File.ReadAllText(path));
        Assert.HasCount(1, Directory.GetFiles(Path.GetDirectoryName(path)!), "no temporary file may be left behind");
    }

    [TestMethod]
    public void The_content_stamp_follows_bytes_and_the_file_set_not_timestamps()
    {
        var dir = TestPaths.NewTempDir("stamp");
        var stamp = Path.Combine(dir, "obj", "m.compile.inputs");
        Directory.CreateDirectory(Path.GetDirectoryName(stamp)!);
        var model = Path.Combine(dir, "m.onnx");
        var calib = Path.Combine(dir, "c1.npy");
        File.WriteAllText(model, "model A");
        File.WriteAllText(calib, "sample 1");

        Assert.IsTrue(ContentStamp.Update(stamp, [model, calib]), "first stamp");
        Assert.IsFalse(ContentStamp.Update(stamp, [model, calib]), "nothing changed");
        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(5));
        Assert.IsFalse(ContentStamp.Update(stamp, [model, calib]), "touched, same bytes");

        // Another model of the same size, with a timestamp older than everything (cp -p, git checkout).
        File.WriteAllText(model, "model B");
        File.SetLastWriteTimeUtc(model, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.IsTrue(ContentStamp.Update(stamp, [model, calib]), "replaced by an older file");

        var added = Path.Combine(dir, "c2.npy");
        File.WriteAllText(added, "sample 2");
        File.SetLastWriteTimeUtc(added, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.IsTrue(ContentStamp.Update(stamp, [model, calib, added]), "calibration file added");
        Assert.IsTrue(ContentStamp.Update(stamp, [model, calib]), "calibration file removed");
        File.Delete(calib);
        Assert.IsTrue(ContentStamp.Update(stamp, [model, calib]), "a listed file disappeared");
        StringAssert.Contains(File.ReadAllText(stamp), "missing " + calib);
    }
}
