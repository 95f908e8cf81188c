using System.Globalization;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Sub/Mul/Div/PRelu and the activations on small models built here (x [1,4,6,6]): the int8 pipeline (host C byte
/// for byte equal to the C# reference, SNR against ONNX Runtime's float output) and the float32 pipeline (host C and
/// the C# float reference against ONNX Runtime). Covers what the ONNX node tests lack (Div, PRelu, Elu) and the
/// int8 lowerings: lookup tables, per-channel PRelu tables, broadcasting with constants and between activations.
/// </summary>
[TestClass]
public sealed class ElementwiseOpTests
{
    private static readonly long[] XShape = [1, 4, 6, 6];
    private static readonly float[] PerChannel = [0.5f, -1.25f, 2f, 0.75f];

    [TestMethod]
    [DataRow("sigmoid")]
    [DataRow("tanh")]
    [DataRow("leakyrelu")]
    [DataRow("hardsigmoid")]
    [DataRow("hardswish")]
    [DataRow("elu")]
    [DataRow("prelu_scalar")]
    [DataRow("prelu_channel")]
    [DataRow("sub_const_channel")]
    [DataRow("sub_scalar_minus_x")]
    [DataRow("mul_const_channel")]
    [DataRow("mul_scalar")]
    [DataRow("div_const_channel")]
    [DataRow("div_scalar")]
    [DataRow("add_const_channel")]
    [DataRow("swish_mul")]
    [DataRow("se_mul_broadcast")]
    [DataRow("sub_broadcast")]
    [DataRow("max_scalar")]
    [DataRow("min_const_channel")]
    [DataRow("max_broadcast")]
    [DataRow("min_activations")]
    [DataRow("pow_square")]
    [DataRow("magnitude")]
    public void ModelMatchesOnnxRuntimeInInt8AndFloat32(string name)
    {
        var work = TestPaths.NewTempDir("ew-" + name);
        var modelPath = Build(name).Save(work);
        var samples = Samples(8, 7);
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"input_{i}.npy"), XShape.Select(d => (int)d).ToArray(), samples[i]);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, CalibrationData = Path.Combine(data, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Assert.IsGreaterThanOrEqualTo(30.0, figures.SnrDb, $"{name}: int8 SNR {figures.SnrDb:0.0} dB");

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name + "_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var expected = OrtRunner.RunMany(modelPath, samples);
        var reference = samples.Select(s => FloatInterpreter.Run(floatCompiled.Graph, s).Data).ToList();
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "float-host"));
        var (cError, referenceError) = (RelativeError(host.Outputs, expected), RelativeError(reference, expected));
        Console.WriteLine(FormattableString.Invariant($"{name} float32: max |C - ORT| / (1 + |ORT|) = {cError:0.##e0}, reference {referenceError:0.##e0}"));
        Assert.IsLessThan(1e-5, cError, "float C vs ONNX Runtime");
        Assert.IsLessThan(1e-5, referenceError, "float reference vs ONNX Runtime");
    }

    [TestMethod]
    public void Int8UsesLookupTablesForActivationsAndScalarConstants()
    {
        foreach (var name in new[] { "sigmoid", "mul_scalar", "sub_scalar_minus_x", "prelu_channel" })
        {
            var compiled = CompileInt8(name);
            Assert.IsTrue(compiled.Model.Ops.Single() is TinyML.Ir.QLut, name);
        }

        Assert.AreEqual(4, ((TinyML.Ir.QLut)CompileInt8("prelu_channel").Model.Ops.Single()).View.Size);
        Assert.IsInstanceOfType<TinyML.Ir.QBinary>(CompileInt8("div_const_channel").Model.Ops.Single(), "Div by a constant is a Mul by the reciprocal");
    }

    [TestMethod]
    public void Int8DivByARunTimeValueIsACodedErrorNamingTheNode()
    {
        var graph = new GraphProto { Name = "div_act" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(FloatInput("y", XShape.Select(d => (long?)d).ToArray()));
        graph.Initializer.Add(FloatTensor("c", [1, 4, 1, 1], PerChannel));
        graph.Node.Add(Node("Sigmoid", "sig", ["x"], ["s"]));
        graph.Node.Add(Node("Add", "shift", ["s", "c"], ["d"]));
        graph.Node.Add(Node("Div", "my_divide", ["x", "d"], ["y"]));
        var error = Assert.ThrowsExactly<TinyMLException>(() => CompileInt8(Model(graph), "div_act"));
        Assert.AreEqual(ErrorCodes.UnsupportedOp, error.Code);
        StringAssert.Contains(error.Message, "my_divide");
        StringAssert.Contains(error.Message, "constant divisor");
    }

    [TestMethod]
    public void Int8PReluWithASlopeVaryingOnTwoAxesIsACodedErrorNamingTheNode()
    {
        var graph = new GraphProto { Name = "prelu2d" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(FloatInput("y", XShape.Select(d => (long?)d).ToArray()));
        graph.Initializer.Add(FloatTensor("slope", [4, 6, 1], Enumerable.Range(0, 24).Select(i => i * 0.01f).ToArray()));
        graph.Node.Add(Node("PRelu", "my_prelu", ["x", "slope"], ["y"]));
        var error = Assert.ThrowsExactly<TinyMLException>(() => CompileInt8(Model(graph), "prelu2d"));
        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, error.Code);
        StringAssert.Contains(error.Message, "my_prelu");
    }

    [TestMethod]
    public void SelfWrittenSigmoidTanhEluRelativeErrorIsBelowThreeTimesTenToMinusSeven()
    {
        var harness = HostC.WriteSource("""
            #include <math.h>
            #include <stdio.h>
            #include "tml_kernels_f32.h"
            int main(void)
            {
                double ws = 0.0, wt = 0.0, we = 0.0;
                int i;
                for (i = 0; i <= 2000000; i++) {
                    float x = -20.0f + 40.0f * (float)i / 2000000.0f, y;
                    double s = 1.0 / (1.0 + exp(-(double)x)), t = tanh((double)x), e = x < 0 ? expm1((double)x) : x;
                    tml_sigmoid_f32(&x, &y, 1);
                    if (fabs(y - s) / s > ws) ws = fabs(y - s) / s;
                    tml_tanh_f32(&x, &y, 1);
                    if (t != 0.0 && fabs(y - t) / fabs(t) > wt) wt = fabs(y - t) / fabs(t);
                    tml_elu_f32(&x, &y, 1, 1.0f);
                    if (e != 0.0 && fabs(y - e) / fabs(e) > we) we = fabs(y - e) / fabs(e);
                }
                printf("%.3e %.3e %.3e\n", ws, wt, we);
                return 0;
            }
            """);
        var result = HostC.CompileAndRun([harness, .. HostC.KernelSources()], [HostC.KernelInclude]);
        var errors = result.StdOut.Trim().Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Console.WriteLine($"max relative error: sigmoid {errors[0]:0.00e0}, tanh {errors[1]:0.00e0}, elu {errors[2]:0.00e0}");
        Assert.IsTrue(errors.All(e => e < 3e-7), result.StdOut);
    }

    private static CompileResult CompileInt8(string name) => CompileInt8(Build(name), name);

    private static CompileResult CompileInt8(ModelProto model, string name)
    {
        var work = TestPaths.NewTempDir("ew-int8-" + name);
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);
        var samples = Samples(4, 11);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"input_{i}.npy"), XShape.Select(d => (int)d).ToArray(), samples[i]);
        }

        return ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model.Save(work), Name = name, CalibrationData = Path.Combine(data, "input_*.npy"),
        }, TextWriter.Null);
    }

    private static List<float[]> Samples(int count, int seed)
    {
        var random = new Random(seed);
        var size = (int)XShape.Aggregate(1L, (p, d) => p * d);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, size).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray()).ToList();
    }

    /// <summary>max |actual - expected| / (1 + |expected|): relative for large values, absolute near 0.</summary>
    private static double RelativeError(IReadOnlyList<float[]> actual, IReadOnlyList<float[]> expected)
    {
        var worst = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            for (var j = 0; j < expected[i].Length; j++)
            {
                worst = Math.Max(worst, Math.Abs(actual[i][j] - (double)expected[i][j]) / (1 + Math.Abs(expected[i][j])));
            }
        }

        return worst;
    }

    private static ModelProto Build(string name)
    {
        var graph = new GraphProto { Name = name };
        var dims = XShape.Select(d => (long?)d).ToArray();
        graph.Input.Add(FloatInput("x", dims));
        graph.Output.Add(FloatInput("y", dims));
        void Add(string op, string[] inputs, string output, params AttributeProto[] attributes)
        {
            var node = Node(op, $"{op.ToLowerInvariant()}_{graph.Node.Count}", inputs, [output]);
            node.Attribute.AddRange(attributes);
            graph.Node.Add(node);
        }

        void Constant(string constantName, long[] shape, float[] values) => graph.Initializer.Add(FloatTensor(constantName, shape, values));

        var opset = 13L;
        switch (name)
        {
            case "sigmoid": Add("Sigmoid", ["x"], "y"); break;
            case "tanh": Add("Tanh", ["x"], "y"); break;
            case "leakyrelu": Add("LeakyRelu", ["x"], "y", FloatAttribute("alpha", 0.1f)); break;
            case "hardsigmoid": Add("HardSigmoid", ["x"], "y", FloatAttribute("alpha", 0.25f), FloatAttribute("beta", 0.4f)); break;
            case "hardswish": Add("HardSwish", ["x"], "y"); opset = 14; break;
            case "elu": Add("Elu", ["x"], "y", FloatAttribute("alpha", 0.7f)); break;
            case "prelu_scalar": Constant("slope", [1], [0.2f]); Add("PRelu", ["x", "slope"], "y"); break;
            case "prelu_channel": Constant("slope", [4, 1, 1], [0.1f, 0.25f, -0.3f, 0.05f]); Add("PRelu", ["x", "slope"], "y"); break;
            case "sub_const_channel": Constant("c", [1, 4, 1, 1], PerChannel); Add("Sub", ["x", "c"], "y"); break;
            case "sub_scalar_minus_x": Constant("c", [], [1.5f]); Add("Sub", ["c", "x"], "y"); break;
            case "mul_const_channel": Constant("c", [4, 1, 1], PerChannel); Add("Mul", ["x", "c"], "y"); break;
            case "mul_scalar": Constant("c", [], [0.37f]); Add("Mul", ["x", "c"], "y"); break;
            case "div_const_channel": Constant("c", [1, 4, 1, 1], PerChannel); Add("Div", ["x", "c"], "y"); break;
            case "div_scalar": Constant("c", [1], [3f]); Add("Div", ["x", "c"], "y"); break;
            case "add_const_channel": Constant("c", [4, 1, 1], PerChannel); Add("Add", ["x", "c"], "y"); break;
            case "swish_mul": Add("Sigmoid", ["x"], "s"); Add("Mul", ["x", "s"], "y"); break;
            case "se_mul_broadcast":
                Add("GlobalAveragePool", ["x"], "g");
                Add("Sigmoid", ["g"], "s");
                Add("Mul", ["x", "s"], "y");
                break;
            case "sub_broadcast":
                Add("GlobalAveragePool", ["x"], "g");
                Add("Sub", ["x", "g"], "y");
                break;
            case "max_scalar": Constant("c", [1, 1, 1, 1], [-0.4f]); Add("Max", ["x", "c"], "y"); break;
            case "min_const_channel": Constant("c", [4, 1, 1], PerChannel); Add("Min", ["x", "c"], "y"); break;
            case "max_broadcast":
                Add("GlobalAveragePool", ["x"], "g");
                Add("Max", ["g", "x"], "y");
                break;
            case "min_activations": Add("Tanh", ["x"], "t"); Add("Min", ["x", "t"], "y"); break;
            case "pow_square": Constant("e", [], [2f]); Add("Pow", ["x", "e"], "y"); break;
            case "magnitude": // an STFT magnitude: sqrt(x^2 + eps)
                Constant("e", [], [2f]);
                Constant("eps", [], [1e-3f]);
                Add("Pow", ["x", "e"], "p");
                Add("Add", ["p", "eps"], "q");
                Add("Sqrt", ["q"], "y");
                break;
            default: throw new ArgumentException(name);
        }

        return Model(graph, opset);
    }

    private static AttributeProto FloatAttribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
}
