using System.Globalization;
using TinyML.Emit;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Plan;
using TinyML.Plan.Tiling;
using TinyML.Verify;
using TinyML.Tests.Infrastructure;

namespace TinyML.Tests.Plan;

/// <summary>
/// Fused-layer tiling of float32 models (<see cref="RowTiling"/> on FConv2D, FPool, FUnary, FClamp and FBinary). No C#
/// reference runs a lowered float model, so the tiled model's emitted C is compared with the untiled model's emitted C,
/// bit for bit: each output value is computed by the same kernel arithmetic on the same values, tiled or not.
/// </summary>
[TestClass]
public sealed class FloatRowTilingTests
{
    /// <summary>
    /// Random float32 chains of convolutions (kernels 1-5, strides 1-2, dilation, uneven padding, depthwise), max and
    /// average pooling (with and without the padding counted), unary activations, clamps and binary ops with a second
    /// model input: every stage length from the first op, a few tile heights each, a stage from the second op, and a
    /// second stage after the first; the tiled C on the host gives the untiled C's floats, bit for bit.
    /// </summary>
    [TestMethod]
    public void RandomFloatChains_TiledC_GivesTheUntiledFloats()
    {
        var work = TestPaths.NewTempDir("float-tiling-c");
        var (runs, binaries, padded, inPlace) = (0, 0, 0, 0);
        for (var seed = 0; seed < 8; seed++)
        {
            var random = new Random(300 + seed);
            var model = RandomFloatChain(random);
            var inputs = model.Inputs.Select(t => Enumerable.Range(0, model.Tensors[t].ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToList();
            var expected = RunC(work, model, inputs);
            binaries += model.Ops.Count(op => op is FBinary);
            for (var last = 0; last < model.Ops.Count; last++)
            {
                var height = model.Tensors[model.Ops[last].Output].Shape[2];
                foreach (var rows in new[] { 1, 2, height / 2 + 1 }.Where(r => r < height).Distinct())
                {
                    // A stage from the first op, or from the second with the first run whole, and a second stage after.
                    var first = rows == 2 && last > 0 ? 1 : 0;
                    Assert.IsNull(RowTiling.WhyNotStage(model, first, last), $"seed {seed}: a chain is a stage");
                    IReadOnlyList<TiledStage> stages = last + 1 < model.Ops.Count && rows == 1
                        ? [RowTiling.Bands(model, first, last, rows), RowTiling.Bands(model, last + 1, model.Ops.Count - 1, 2)] : [RowTiling.Bands(model, first, last, rows)];
                    // The input read where the caller has it when only a stage from the first op reads it.
                    var tiled = TilingLowering.Apply(model, stages, 4, inputInPlace: rows != 2);
                    inPlace += tiled.InputInPlace ? 1 : 0;
                    Assert.IsTrue(tiled.Ops.OfType<TiledStageOp>().All(s => s.IsFloat32));
                    padded += tiled.Ops.OfType<TiledStageOp>().SelectMany(t => t.TileOps.Skip(1)).SelectMany(ops => ops)
                        .Count(op => op is FConv2D { Geometry.PadTop: > 0 } or FPool { Geometry.PadTop: > 0 });
                    var run = RunC(work, tiled, inputs);
                    CollectionAssert.AreEqual(Bits(expected), Bits(run), $"seed {seed}, ops {first}..{last} on tiles of {rows} rows{(stages.Count > 1 ? ", then the rest" : "")}: C on the host");
                    runs++;
                }
            }
        }

        Console.WriteLine($"{runs} tiled random float32 chains on the host bit-identical with their untiled C ({inPlace} reading their input in place; {binaries} binary ops with a second input; {padded} band ops after the first tile with padding above)");
        Assert.IsGreaterThan(50, runs);
        Assert.IsGreaterThan(0, binaries);
        Assert.IsGreaterThan(0, padded);
        Assert.IsGreaterThan(5, inPlace);
    }

    /// <summary>A stage is all-int8 or all-float32: a float op after an int8 one ends it.</summary>
    [TestMethod]
    public void AStage_IsOfOnePrecision()
    {
        var model = new LoweredModel { Name = "mixed", Input = 0, Output = 2 };
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "in", Shape = [1, 2, 8, 4] });
        model.Tensors.Add(new LoweredTensor { Id = 1, Name = "a", Shape = [1, 2, 8, 4] });
        model.Tensors.Add(new LoweredTensor { Id = 2, Name = "b", Shape = [1, 2, 8, 4], ElementType = TensorElementType.Float32 });
        model.Ops.Add(new QClamp { NodeName = "clamp", Inputs = [0], Output = 1, Count = 64, Min = -10, Max = 10 });
        model.Ops.Add(new FClamp { NodeName = "fclamp", Inputs = [1], Output = 2, Count = 64, Min = -1, Max = 1 });
        Assert.IsNull(RowTiling.WhyNotStage(model, 0, 0));
        Assert.IsNull(RowTiling.WhyNotStage(model, 1, 1));
        StringAssert.Contains(RowTiling.WhyNotStage(model, 0, 1), "precision");
    }

    /// <summary>
    /// The float MLPerf Tiny VWW model as the build tiles it by default (Tiling="auto", its input read in place) against
    /// Tiling="off": the same output floats, bit for bit, on the host and on the Cortex-M4 (nRF52840) in QEMU. The tiled
    /// harness fits the nRF52840's 256 KB with its 110,592 B input buffer; the layer-by-layer reference does not, so it
    /// runs on the same image with the emulator's 4 MB of RAM at the same address as its budget.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void FloatVww_Tiled_GivesTheUntiledFloats_OnHostAndCortexM4()
    {
        Kernels.DspKernelEquivalenceTests.RequireArm();
        var vwwPath = TestPaths.SharedOrSkip("models/mlperf_tiny_vww_mobilenetv1_025/model.onnx");
        var work = TestPaths.NewTempDir("float-tiling-vww");
        var tiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Precision = ModelPrecision.Float32, Board = "nrf52840", OutputDirectory = Path.Combine(work, "tiled") }, TextWriter.Null);
        var untiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Precision = ModelPrecision.Float32, Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off), OutputDirectory = Path.Combine(work, "untiled") }, TextWriter.Null);
        Assert.IsTrue(tiled.Model.Ops.OfType<TiledStageOp>().Any(s => s.IsFloat32), "float VWW is tiled");
        Assert.IsTrue(tiled.Model.InputInPlace, "its input read in place");
        Assert.IsFalse(untiled.Model.Ops.OfType<TiledStageOp>().Any());
        var image = Enumerable.Range(0, tiled.Model.InputTensor.ElementCount).Select(i => (float)((i * 37 % 251) / 251.0)).ToArray();

        var hostExpected = HarnessFirmware.RunFloat(untiled, Path.Combine(work, "untiled"), [image], "host", TestPaths.Kernels, Path.Combine(work, "untiled-host")).Outputs[0];
        var host = HarnessFirmware.RunFloat(tiled, Path.Combine(work, "tiled"), [image], "host", TestPaths.Kernels, Path.Combine(work, "tiled-host")).Outputs[0];
        CollectionAssert.AreEqual(Bits(hostExpected), Bits(host), "float VWW tiled vs untiled on the host");

        var m4 = HarnessFirmware.RunFloat(tiled, Path.Combine(work, "tiled"), [image], "nrf52840", TestPaths.Kernels, Path.Combine(work, "tiled-m4"));
        var log = new StringWriter();
        var wide = HarnessFirmware.BoardFor("nrf52840") with { Ram = new TinyML.Firmware.MemoryRegion(0x2000_0000, 4 * 1024 * 1024) };
        var reference = HarnessFirmware.Build(untiled.Code, Path.Combine(work, "untiled"), HarnessModel.Of(untiled.Model, "vww"), wide,
            new HarnessSettings(TestPaths.Kernels, Path.Combine(work, "untiled-m4")), log);
        var m4Expected = HarnessFirmware.Run(reference, [[HarnessFirmware.Bytes(image)]], log);
        CollectionAssert.AreEqual(Bits(HarnessFirmware.Floats(m4Expected.Outputs[0][0])), Bits(m4.Outputs[0]), "float VWW tiled vs untiled on the Cortex-M4");

        var perTick = HarnessFirmware.BoardFor("nrf52840").InstructionsPerTick;
        var (before, after) = (m4Expected.Ticks[0] * perTick, m4.TicksFirstInference * perTick);
        Console.WriteLine(FormattableString.Invariant($"float VWW, arena {untiled.Plan.ArenaBytes:N0} -> {tiled.Plan.ArenaBytes:N0} B: tiled = untiled floats on the host [{string.Join(", ", host.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}] and on the Cortex-M4 in QEMU [{string.Join(", ", m4.Outputs[0].Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}]; instructions {before:N0} -> {after:N0} ({(double)(after - before) / before:+0.0%;-0.0%})"));
    }

    /// <summary>
    /// The float MLPerf Tiny IC (ResNet-8, Quantize="none") as the build tiles it: its first two residual blocks in one
    /// stage, the residual adds reading views, the halo rows cached; bit for bit the untiled model's floats on the host
    /// and on the Cortex-M4 in QEMU.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void FloatIc_ResidualStage_GivesTheUntiledFloats_OnHostAndCortexM4()
    {
        Kernels.DspKernelEquivalenceTests.RequireArm();
        var icPath = TestPaths.SharedOrSkip("models/mlperf_tiny_ic_resnet8/model.onnx");
        var work = TestPaths.NewTempDir("float-tiling-ic");
        var tiled = ModelCompiler.Compile(new CompileOptions { ModelPath = icPath, Name = "ic", Precision = ModelPrecision.Float32, Board = "nrf52840", OutputDirectory = Path.Combine(work, "tiled") }, TextWriter.Null);
        var untiled = ModelCompiler.Compile(new CompileOptions { ModelPath = icPath, Name = "ic", Precision = ModelPrecision.Float32, Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off), OutputDirectory = Path.Combine(work, "untiled") }, TextWriter.Null);
        var stage = tiled.Model.Ops.OfType<TiledStageOp>().Single();
        Assert.IsTrue(stage.IsFloat32 && stage.Ops.Any(op => op is FBinary) && stage.Stage.Views.Any(v => v.Count > 0), "a float residual stage with views");
        Assert.IsTrue(stage.Stage.CachesHalo, "its halo rows cached");
        var image = Enumerable.Range(0, tiled.Model.InputTensor.ElementCount).Select(i => (float)((i * 29 % 241) / 241.0)).ToArray();
        foreach (var board in new[] { "host", "nrf52840" })
        {
            var expected = HarnessFirmware.RunFloat(untiled, Path.Combine(work, "untiled"), [image], board, TestPaths.Kernels, Path.Combine(work, "untiled-" + board)).Outputs[0];
            var actual = HarnessFirmware.RunFloat(tiled, Path.Combine(work, "tiled"), [image], board, TestPaths.Kernels, Path.Combine(work, "tiled-" + board)).Outputs[0];
            CollectionAssert.AreEqual(Bits(expected), Bits(actual), $"float IC tiled vs untiled on {board}");
        }

        Console.WriteLine(FormattableString.Invariant($"float IC: ops {stage.Stage.FirstOp}..{stage.Stage.LastOp} on {stage.Stage.TileCount} tiles, halo cached, arena {untiled.Plan.ArenaBytes:N0} -> {tiled.Plan.ArenaBytes:N0} B: the untiled floats on the host and the Cortex-M4"));
    }

    /// <summary>
    /// The build (default options, Tiling="auto") tiles the float VWW model and says so in the log and report.json;
    /// Tiling="off" keeps it layer by layer.
    /// </summary>
    [TestMethod]
    public void TheBuild_TilesFloatVww_AndSaysWhatAndWhy()
    {
        var vwwPath = TestPaths.SharedOrSkip("models/mlperf_tiny_vww_mobilenetv1_025/model.onnx");
        var work = TestPaths.NewTempDir("float-tiling-build");
        var log = new StringWriter();
        var tiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Precision = ModelPrecision.Float32, Board = "nrf52840", OutputDirectory = Path.Combine(work, "code") }, log);
        var untiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Precision = ModelPrecision.Float32, Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null);
        Console.WriteLine(string.Join("\n", log.ToString().Split('\n').Where(l => l.Contains("tiling", StringComparison.Ordinal))));

        Assert.IsTrue(tiled.Model.IsFloat);
        Assert.IsNotEmpty(tiled.Model.Ops.OfType<TiledStageOp>().ToList(), "float VWW is tiled");
        Assert.IsEmpty(untiled.Model.Ops.OfType<TiledStageOp>().ToList());
        Assert.IsLessThan(untiled.Plan.ArenaBytes * (1 - RowTiling.MinimumArenaSaving), tiled.Plan.ArenaBytes);
        StringAssert.Contains(log.ToString(), FormattableString.Invariant($"tinyml: vww: tiling: arena {untiled.Plan.ArenaBytes:N0} -> {tiled.Plan.ArenaBytes:N0} B (layer-by-layer bound {untiled.Plan.LowerBound:N0} B)"));
        StringAssert.Contains(log.ToString(), "tinyml: vww: tiling: ops 0..");
        StringAssert.Contains(log.ToString(), "the input is read where the caller has it");
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(work, "code", "vww.report.json")))!;
        Assert.AreEqual("float32", (string)report["precision"]!);
        var tiling = report["tiling"]!;
        Assert.IsTrue((bool)tiling["chosen"]!);
        Assert.IsTrue((bool)tiling["inputReadInPlace"]!);
        Assert.AreEqual(untiled.Plan.ArenaBytes, (int)tiling["layerByLayerArenaBytes"]!);
        Assert.AreEqual(tiled.Plan.ArenaBytes, (int)tiling["arenaBytes"]!);
        Assert.IsLessThanOrEqualTo(0.10, (double)tiling["estimatedInstructionOverhead"]!, "within MaxComputeOverhead");
        Assert.IsNotEmpty(tiling["stages"]!.AsArray());
        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "code", "vww.c")), "tml_gather_rows(input, ");

        // Both entry points pass the caller's input on (invoke_f32 and invoke_f32_multi): the same floats.
        var image = Enumerable.Range(0, tiled.Model.InputTensor.ElementCount).Select(i => (float)((i * 53 % 253) / 253.0)).ToArray();
        var main = HostC.WriteSource($$"""
            #include <stdio.h>
            #include <string.h>
            #include "vww.h"
            static const float image[{{image.Length}}] = { {{string.Join(", ", image.Select(CText.FloatLiteral))}} };
            int main(void)
            {
                static float single[TML_VWW_OUTPUT_SIZE], multi[TML_VWW_OUTPUT_SIZE];
                const float *inputs[1] = { image };
                float *outputs[1] = { multi };
                if (tml_vww_invoke_f32(image, single) != 0 || tml_vww_invoke_f32_multi(inputs, outputs) != 0) {
                    return 1;
                }
                printf("%d\n", memcmp(single, multi, sizeof single) == 0);
                return 0;
            }
            """);
        var run = HostC.CompileAndRun([main, Path.Combine(work, "code", "vww.c"), .. HostC.KernelSources()], [Path.Combine(work, "code"), HostC.KernelInclude]);
        Assert.AreEqual(0, run.ExitCode, run.StdErr);
        Assert.AreEqual("1", run.StdOut.Trim(), "invoke_f32 and invoke_f32_multi give the same floats");
    }

    private static uint[] Bits(float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();

    /// <summary>The model's emitted C on the host through the float harness (every input in, the first output out).</summary>
    private static float[] RunC(string work, LoweredModel model, IReadOnlyList<float[]> inputs)
    {
        var plan = ArenaPlanner.Plan(model, 4);
        var code = CEmitter.Emit(model, plan, "chain", "a float32 chain");
        var codeDir = Path.Combine(work, "code");
        Directory.CreateDirectory(codeDir);
        File.WriteAllText(Path.Combine(codeDir, code.HeaderFileName), code.Header);
        File.WriteAllText(Path.Combine(codeDir, code.SourceFileName), code.Source);
        var harness = new HarnessModel("chain", true, model.Inputs.Select(t => model.Tensors[t].ElementCount).ToList(), [model.OutputTensor.ElementCount]);
        var log = new StringWriter();
        var image = HarnessFirmware.Build(code, codeDir, harness, "host", new HarnessSettings(TestPaths.Kernels, Path.Combine(work, "harness")), log);
        var stream = HarnessFirmware.Run(image, [inputs.Select(HarnessFirmware.Bytes).ToArray()], log);
        return HarnessFirmware.Floats(stream.Outputs[0][0]);
    }

    /// <summary>
    /// A random float32 chain over NCHW: 2-6 convolutions (depthwise among them), pools, unary activations, clamps and
    /// binary ops whose second operand is a further model input of the chain's shape there.
    /// </summary>
    private static LoweredModel RandomFloatChain(Random random)
    {
        var (channels, height, width) = (random.Next(1, 5), random.Next(6, 24), random.Next(2, 8));
        var count = random.Next(2, 7);
        var model = new LoweredModel { Name = "chain", Input = 0, Output = 0 };
        LoweredTensor Tensor(string name, int[] shape)
        {
            var tensor = new LoweredTensor { Id = model.Tensors.Count, Name = name, Shape = shape, ElementType = TensorElementType.Float32 };
            model.Tensors.Add(tensor);
            return tensor;
        }

        float Value(double range) => (float)((random.NextDouble() * 2 - 1) * range);
        var previous = Tensor("in", [1, channels, height, width]);
        for (var i = 1; i <= count; i++)
        {
            var (inC, inH, inW) = (previous.Shape[1], previous.Shape[2], previous.Shape[3]);
            var kind = random.Next(7);
            var window = RandomWindow.Draw(random, inH, inW, dilated: kind < 2);
            var (kernel, kernelW, stride, dilation, top, bottom, left, outH, outW) = window;
            if (kind < 3 && !window.Fits(inH))
            {
                kind = 3; // an element-wise op keeps the shape
            }

            LoweredOp op;
            int[] shape;
            if (kind < 2)
            {
                var depthwise = kind == 1 && inC > 1;
                var outC = depthwise ? inC : random.Next(1, 6);
                var groups = depthwise ? inC : 1;
                shape = [1, outC, outH, outW];
                var output = Tensor($"t{i}", shape);
                op = new FConv2D
                {
                    NodeName = $"conv{i}", Inputs = [previous.Id], Output = output.Id,
                    Geometry = new ConvGeometry(inC, inH, inW, outC, outH, outW, kernel, kernelW, stride, stride, top, left, dilation, 1, groups),
                    Weights = Enumerable.Range(0, outC * (inC / groups) * kernel * kernelW).Select(_ => Value(0.6)).ToArray(),
                    Bias = Enumerable.Range(0, outC).Select(_ => Value(0.2)).ToArray(),
                    Activation = random.Next(2) == 0 ? new(float.NegativeInfinity, float.PositiveInfinity) : new(0f, 6f),
                };
            }
            else if (kind == 2)
            {
                shape = [1, inC, outH, outW];
                var output = Tensor($"t{i}", shape);
                op = new FPool
                {
                    NodeName = $"pool{i}", Inputs = [previous.Id], Output = output.Id, Kind = random.Next(2) == 0 ? PoolKind.Max : PoolKind.Average,
                    InputPlanes = new PlaneGeometry(inC, inH, inW), Geometry = new WindowGeometry(kernel, kernelW, stride, stride, 1, 1, top, left, bottom, left, outH, outW),
                    CountIncludePad = random.Next(2) == 0,
                };
            }
            else if (kind == 3 || (kind >= 5 && i == 1))
            {
                shape = previous.Shape;
                var output = Tensor($"t{i}", shape);
                var unary = new[] { UnaryKind.Sigmoid, UnaryKind.Tanh, UnaryKind.LeakyRelu, UnaryKind.Abs, UnaryKind.Neg, UnaryKind.Elu, UnaryKind.HardSwish }[random.Next(7)];
                op = new FUnary { NodeName = $"unary{i}", Inputs = [previous.Id], Output = output.Id, Kind = unary, Count = previous.ElementCount, Alpha = 0.1f, Beta = 0 };
            }
            else if (kind == 4)
            {
                shape = previous.Shape;
                var output = Tensor($"t{i}", shape);
                op = new FClamp { NodeName = $"clamp{i}", Inputs = [previous.Id], Output = output.Id, Count = previous.ElementCount, Min = Value(0.5) - 0.5f, Max = Value(0.5) + 0.5f };
            }
            else
            {
                // A second operand from outside the chain: a further model input, gathered band by band too.
                shape = previous.Shape;
                var other = Tensor($"x{i}", shape);
                model.ExtraInputs.Add(other.Id);
                var output = Tensor($"t{i}", shape);
                var binary = new[] { BinaryKind.Add, BinaryKind.Sub, BinaryKind.Mul, BinaryKind.Max, BinaryKind.Min }[random.Next(5)];
                var (a, b) = random.Next(2) == 0 ? (previous.Id, other.Id) : (other.Id, previous.Id);
                op = new FBinary { NodeName = $"binary{i}", Inputs = [a, b], Output = output.Id, Kind = binary, Geometry = BroadcastGeometry.Of(shape, shape, a, shape, b) };
            }

            model.Ops.Add(op);
            previous = model.Tensors[op.Output];
        }

        model.Output = previous.Id;
        return model;
    }
}
