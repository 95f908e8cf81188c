using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Diagnostics;

/// <summary>
/// Hostile or broken inputs through <c>tinymlc compile</c> (the command the MSBuild task runs): each gets its own coded
/// error that names what is wrong, the same code in int8 and float32 where both read it, and no stack trace
/// (issue 9, items 3 and 8).
/// </summary>
[TestClass]
public sealed class CompilerDiagnosticsTests
{
    /// <summary>Runs <c>tinymlc compile</c>; returns the error (null on success) and the log.</summary>
    private static (TinyMLException? Error, string Log) Compile(string modelPath, string quantize, params string[] extra)
    {
        var outDir = Path.Combine(Path.GetDirectoryName(modelPath)!, "out-" + quantize);
        var log = new StringWriter();
        try
        {
            CompileCommand.Run(new CliArgs(["--model", modelPath, "--name", "m", "--quantize", quantize, "--out", outDir, .. extra]), log);
            return (null, log.ToString());
        }
        catch (TinyMLException e)
        {
            return (e, log.ToString());
        }
    }

    /// <summary>Compiles in both precisions and expects the same code; returns the two errors.</summary>
    private static TinyMLException[] FailsInBoth(ModelProto model, string code, string? folder = null)
    {
        var path = model.Save(folder ?? TestPaths.NewTempDir("diag"));
        return new[] { "int8", "none" }.Select(quantize =>
        {
            var (error, log) = Compile(path, quantize);
            Assert.IsNotNull(error, $"{quantize}: expected {code}, the compile succeeded:\n{log}");
            Assert.AreEqual(code, error.Code, $"{quantize}: {error.Message}");
            Assert.AreEqual(path, error.File, "the error points at the model");
            return error;
        }).ToArray();
    }

    // ---- item 3: names ONNX defines once ----

    [TestMethod]
    public void TwoInitializersOfOneNameAreTML1001NamingIt()
    {
        var model = GemmRelu();
        model.Graph.Initializer.Add(FloatTensor("B", [3], [9f, 9f, 9f])); // used to silently replace the first B

        foreach (var error in FailsInBoth(model, ErrorCodes.MalformedModel))
        {
            StringAssert.Contains(error.Message, "initializer 'B' is defined more than once");
        }
    }

    [TestMethod]
    public void TwoInitializersOfOneNameInsideAnIfBranchAreTML1001()
    {
        var branch = new GraphProto { Name = "then" };
        branch.Initializer.Add(FloatTensor("k", [1], [1f]));
        branch.Initializer.Add(FloatTensor("k", [1], [2f]));
        branch.Output.Add(FloatInput("k", 1));
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInput("x", 1, 4));
        g.Output.Add(FloatInput("y", 1, 4));
        g.Initializer.Add(new TensorProto { Name = "cond", DataType = (int)TensorProto.Types.DataType.Bool, Int32Data = { 1 } });
        var @if = Node("If", "if", ["cond"], ["k_out"]);
        @if.Attribute.Add(GraphAttribute("then_branch", branch));
        @if.Attribute.Add(GraphAttribute("else_branch", branch));
        g.Node.Add(@if);
        g.Node.Add(Node("Add", "add", ["x", "k_out"], ["y"]));

        foreach (var error in FailsInBoth(Model(g), ErrorCodes.MalformedModel))
        {
            StringAssert.Contains(error.Message, "initializer of a subgraph 'k' is defined more than once");
        }
    }

    [TestMethod]
    public void TwoGraphInputsOfOneNameAreTML1001NamingIt()
    {
        var model = GemmRelu();
        model.Graph.Input.Add(FloatInput("x", 1, 4));

        foreach (var error in FailsInBoth(model, ErrorCodes.MalformedModel))
        {
            StringAssert.Contains(error.Message, "graph input 'x' is defined more than once");
        }
    }

    [TestMethod]
    [DataRow("two nodes", "h")]
    [DataRow("node output = initializer", "W")]
    [DataRow("node output = graph input", "x")]
    [DataRow("Constant output = initializer", "B")]
    [DataRow("two Constants", "k")]
    public void AValueDefinedTwiceIsTML1001NamingIt(string clash, string value)
    {
        var model = GemmRelu();
        var nodes = model.Graph.Node;
        switch (clash)
        {
            case "two nodes":
                nodes.Add(Node("Relu", "relu_again", ["x"], ["h"]));
                break;
            case "node output = initializer":
                nodes.Add(Node("Relu", "relu_w", ["x"], ["W"]));
                break;
            case "node output = graph input":
                nodes.Add(Node("Relu", "relu_x", ["h"], ["x"]));
                break;
            case "Constant output = initializer":
                nodes.Insert(0, ConstantNode("const_b", "B"));
                break;
            case "two Constants":
                nodes.Insert(0, ConstantNode("const_1", "k"));
                nodes.Insert(0, ConstantNode("const_2", "k"));
                break;
        }

        foreach (var error in FailsInBoth(model, ErrorCodes.MalformedModel))
        {
            StringAssert.Contains(error.Message, $"'{value}'", error.Message);
        }
    }

    private static NodeProto ConstantNode(string name, string output)
    {
        var node = Node("Constant", name, [], [output]);
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("", [3], [1f, 2f, 3f]) });
        return node;
    }

    [TestMethod]
    public void AnInitializerAlsoListedAsAGraphInputIsItsDefaultValueAndCompiles()
    {
        // Legal ONNX (IR < 4 listed every initializer as an input): a constant, not a second model input.
        var model = GemmRelu();
        model.Graph.Input.Add(FloatInput("W", 3, 4));
        var path = model.Save(TestPaths.NewTempDir("diag"));
        foreach (var quantize in new[] { "int8", "none" })
        {
            var (error, log) = Compile(path, quantize);
            Assert.IsNull(error, $"{quantize}: {error?.Code} {error?.Message}\n{log}");
        }
    }

    // ---- item 8: files that are not what they claim ----

    [TestMethod]
    public void AModelPathThatIsADirectoryIsTML1000SayingSo()
    {
        var folder = Path.Combine(TestPaths.NewTempDir("diag"), "model.onnx");
        Directory.CreateDirectory(folder);

        var (error, _) = Compile(folder, "int8");

        Assert.IsNotNull(error);
        Assert.AreEqual(ErrorCodes.ModelNotFound, error.Code);
        StringAssert.Contains(error.Message, "is a directory, not a file");
        Assert.DoesNotContain("not found", error.Message);
    }

    [TestMethod]
    public void AnExternalDataLocationThatIsADirectoryIsTML1001SayingSo()
    {
        var folder = TestPaths.NewTempDir("diag");
        Directory.CreateDirectory(Path.Combine(folder, "weights.bin"));
        var model = GemmRelu();
        var w = model.Graph.Initializer[0];
        w.FloatData.Clear();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });

        foreach (var error in FailsInBoth(model, ErrorCodes.MalformedModel, folder))
        {
            StringAssert.Contains(error.Message, "external data location 'weights.bin' is a directory");
            Assert.DoesNotContain("denied", error.Message);
        }
    }

    // ---- item 8: TML1002 names op and node and points to the table ----

    [TestMethod]
    public void AnUnsupportedOperatorIsTML1002NamingOpAndNodeAndPointingToTheTable()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInput("x", 1, 8));
        g.Output.Add(FloatInput("y", 1, 8));
        g.Node.Add(Node("Hardmax", "my_hardmax", ["x"], ["y"]));

        foreach (var error in FailsInBoth(Model(g), ErrorCodes.UnsupportedOp))
        {
            StringAssert.StartsWith(error.Message, "unsupported operator 'Hardmax' (node 'my_hardmax')");
            StringAssert.Contains(error.Message, OpSupport.TableReference);
            Assert.DoesNotContain("ConvTranspose", error.Message, "the support list is a table to point to, not a line of 57 names");
            Assert.IsLessThan(200, error.Message.Length, error.Message);
        }
    }

    [TestMethod]
    public void AnOperatorWithOnlyAFloatKernelIsTML1002InInt8SayingFloat32HasIt()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInput("x", 1, 8));
        g.Output.Add(FloatInput("y", 1, 8));
        g.Node.Add(Node("LogSoftmax", "log_softmax", ["x"], ["y"]));
        var path = Model(g).Save(TestPaths.NewTempDir("diag"));

        var (error, _) = Compile(path, "int8");

        Assert.IsNotNull(error);
        Assert.AreEqual(ErrorCodes.UnsupportedOp, error.Code);
        StringAssert.StartsWith(error.Message, "unsupported operator 'LogSoftmax' (node 'log_softmax'): there is no int8 kernel for it (it has a float32 kernel: Quantize=\"none\")");
        StringAssert.Contains(error.Message, OpSupport.TableReference);
        Assert.IsNull(Compile(path, "none").Error, "float32 compiles it");
    }

    // ---- item 8: one TML1xxx for an invalid model, whatever the precision ----

    [TestMethod]
    [DataRow("Gemm inner dimension")]
    [DataRow("MatMul inner dimension")]
    [DataRow("Conv channels")]
    [DataRow("Add of float and int64")]
    public void AnInvalidModelIsTML1001InInt8AndInFloat32(string defect)
    {
        var g = new GraphProto { Name = "g" };
        switch (defect)
        {
            case "Gemm inner dimension":
                var model = GemmRelu();
                model.Graph.Initializer[0] = FloatTensor("W", [3, 5], new float[15]); // x is [1,4]
                foreach (var error in FailsInBoth(model, ErrorCodes.MalformedModel))
                {
                    StringAssert.Contains(error.Message, "Gemm 'gemm_1'");
                }

                return;
            case "MatMul inner dimension":
                g.Input.Add(FloatInput("x", 1, 8));
                g.Output.Add(FloatInput("y", 1, 3));
                g.Initializer.Add(FloatTensor("w", [5, 3], new float[15]));
                g.Node.Add(Node("MatMul", "mm", ["x", "w"], ["y"]));
                break;
            case "Conv channels":
                g.Input.Add(FloatInput("x", 1, 3, 8, 8));
                g.Output.Add(FloatInput("y", 1, 4, 6, 6));
                g.Initializer.Add(FloatTensor("w", [4, 2, 3, 3], new float[72]));
                g.Node.Add(Node("Conv", "conv", ["x", "w"], ["y"]));
                break;
            case "Add of float and int64":
                g.Input.Add(FloatInput("x", 1, 8));
                g.Output.Add(FloatInput("y", 1, 8));
                g.Initializer.Add(Int64Tensor("c", [8], [1, 2, 3, 4, 5, 6, 7, 8]));
                g.Node.Add(Node("Add", "add", ["x", "c"], ["y"]));
                break;
        }

        foreach (var error in FailsInBoth(Model(g), ErrorCodes.MalformedModel))
        {
            Assert.DoesNotContain("ONNX Runtime", error.Message, "found by the compiler itself, before calibration");
        }
    }

    // ---- item 8: non-finite values name where they are ----

    [TestMethod]
    public void ANaNWeightIsTML1008NamingTheInitializerElementAndNode()
    {
        var model = GemmRelu();
        model.Graph.Initializer[0].FloatData[5] = float.NaN;

        foreach (var error in FailsInBoth(model, ErrorCodes.NonFiniteConstant))
        {
            StringAssert.Contains(error.Message, "initializer 'W' (input 1 of Gemm node 'gemm_1') holds NaN at element 5 ([1,1] of shape [3,4])");
        }
    }

    [TestMethod]
    public void AnInfiniteBiasIsTML1008NamingTheInitializer()
    {
        var model = GemmRelu();
        model.Graph.Initializer[1].FloatData[1] = float.NegativeInfinity;

        foreach (var error in FailsInBoth(model, ErrorCodes.NonFiniteConstant))
        {
            StringAssert.Contains(error.Message, "initializer 'B' (input 2 of Gemm node 'gemm_1') holds -Infinity at element 1");
        }
    }

    [TestMethod]
    public void AnInfiniteAdditiveMaskStaysLegalInFloat32()
    {
        // x + mask with -inf where a value must never win (then Relu): how exporters write masks; not a broken weight.
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInput("x", 1, 4));
        g.Output.Add(FloatInput("y", 1, 4));
        g.Initializer.Add(FloatTensor("mask", [1, 4], [0f, float.NegativeInfinity, 0f, 0f]));
        g.Node.Add(Node("Add", "mask_add", ["x", "mask"], ["h"]));
        g.Node.Add(Node("Relu", "relu", ["h"], ["y"]));
        var path = Model(g).Save(TestPaths.NewTempDir("diag"));

        var (error, log) = Compile(path, "none");

        Assert.IsNull(error, $"{error?.Code} {error?.Message}\n{log}");
        StringAssert.Contains(File.ReadAllText(Path.Combine(Path.GetDirectoryName(path)!, "out-none", "m.c")), "-INFINITY");
    }

    [TestMethod]
    public void ANaNInACalibrationSampleIsTML2002NamingTheFileAndSample()
    {
        var dir = TestPaths.NewTempDir("diag");
        var path = GemmRelu().Save(dir);
        var calib = Path.Combine(dir, "calib");
        Directory.CreateDirectory(calib);
        Npy.Write(Path.Combine(calib, "a.npy"), [1, 4], [0.1f, 0.2f, 0.3f, 0.4f]);
        var batch = Enumerable.Range(0, 12).Select(i => i * 0.1f).ToArray();
        batch[9] = float.NaN; // sample 2, element 1
        Npy.Write(Path.Combine(calib, "b.npy"), [3, 4], batch);

        var (error, _) = Compile(path, "int8", "--calibration", calib);

        Assert.IsNotNull(error);
        Assert.AreEqual(ErrorCodes.BadCalibrationFile, error.Code, error.Message);
        Assert.AreEqual(Path.Combine(calib, "b.npy"), error.File);
        StringAssert.Contains(error.Message, $"CalibrationData '{Path.Combine(calib, "b.npy")}' sample 2 holds NaN at element 1");
    }

    [TestMethod]
    public void ANaNInAValidationSampleIsTML2007()
    {
        var dir = TestPaths.NewTempDir("diag");
        var path = GemmRelu().Save(dir);
        Npy.Write(Path.Combine(dir, "calib.npy"), [1, 4], [0.1f, 0.2f, 0.3f, 0.4f]);
        Npy.Write(Path.Combine(dir, "val.npy"), [1, 4], [0.1f, float.PositiveInfinity, 0.3f, 0.4f]);

        var (error, _) = Compile(path, "int8", "--calibration", Path.Combine(dir, "calib.npy"), "--validation-data", Path.Combine(dir, "val.npy"));

        Assert.IsNotNull(error);
        Assert.AreEqual(ErrorCodes.BadValidationData, error.Code, error.Message);
        StringAssert.Contains(error.Message, "ValidationData");
        StringAssert.Contains(error.Message, "val.npy");
    }

    [TestMethod]
    public void AnActivationThatOverflowsIsTML2003NamingTheTensorAndTheCalibrationFile()
    {
        var dir = TestPaths.NewTempDir("diag");
        var model = GemmRelu();
        for (var i = 0; i < 12; i++)
        {
            model.Graph.Initializer[0].FloatData[i] = 3e38f; // finite, but any dot product overflows
        }

        var path = model.Save(dir);
        Npy.Write(Path.Combine(dir, "calib.npy"), [2, 4], [0f, 0f, 0f, 0f, 1f, 1f, 1f, 1f]);

        var (error, _) = Compile(path, "int8", "--calibration", Path.Combine(dir, "calib.npy"));

        Assert.IsNotNull(error);
        Assert.AreEqual(ErrorCodes.CalibrationFailed, error.Code, error.Message);
        StringAssert.Contains(error.Message, "tensor 'y' becomes Infinity on calibration sample 1");
        StringAssert.Contains(error.Message, "calib.npy' sample 1");
    }

    // ---- item 8: TML2001 is the warning for no CalibrationData; a wrong one is an error ----

    [TestMethod]
    public void NoCalibrationDataIsWarningTML2001AndTheBuildGoesOn()
    {
        var path = GemmRelu().Save(TestPaths.NewTempDir("diag"));

        var (error, log) = Compile(path, "int8");

        Assert.IsNull(error, error?.Message);
        StringAssert.Contains(log, "warning TML2001: no CalibrationData for model 'm'");
    }

    [TestMethod]
    [DataRow("missing folder", "TML2011")]
    [DataRow("missing file", "TML2011")]
    [DataRow("glob in a missing folder", "TML2011")]
    [DataRow("empty folder", "TML2012")]
    [DataRow("folder of other files", "TML2012")]
    [DataRow("glob matching nothing", "TML2012")]
    [DataRow("file of zero samples", "TML2012")]
    public void ACalibrationDataThatNamesNothingUsableIsAnError(string what, string code)
    {
        var dir = TestPaths.NewTempDir("diag");
        var path = GemmRelu().Save(dir);
        var calib = Path.Combine(dir, "calib");
        var argument = what switch
        {
            "missing folder" => Path.Combine(dir, "no-such-folder") + Path.DirectorySeparatorChar,
            "missing file" => Path.Combine(dir, "no-such.npy"),
            "glob in a missing folder" => Path.Combine(dir, "nowhere", "*.npy"),
            _ => calib + Path.DirectorySeparatorChar,
        };
        Directory.CreateDirectory(calib);
        switch (what)
        {
            case "folder of other files":
                File.WriteAllText(Path.Combine(calib, "readme.txt"), "samples go here");
                break;
            case "glob matching nothing":
                argument = Path.Combine(calib, "*.npy");
                break;
            case "file of zero samples":
                Npy.Write(Path.Combine(calib, "empty.npy"), [0, 4], Array.Empty<float>());
                break;
        }

        var (error, log) = Compile(path, "int8", "--calibration", argument);

        Assert.IsNotNull(error, $"{what}: the build went on:\n{log}");
        Assert.AreEqual(code, error.Code, $"{what}: {error.Message}");
        StringAssert.Contains(error.Message, "CalibrationData");
        Assert.DoesNotContain("TML2001", log, "no fallback to random ranges when CalibrationData is given");
        Assert.IsFalse(Directory.Exists(Path.Combine(dir, "out-int8")) && Directory.EnumerateFiles(Path.Combine(dir, "out-int8")).Any(), "nothing is written");
    }
}
