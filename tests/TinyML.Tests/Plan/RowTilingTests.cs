using TinyML.Emit;
using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Pipeline;
using TinyML.Plan;
using TinyML.Plan.Tiling;
using TinyML.Reference;
using TinyML.Verify;
using TinyML.Tests.Infrastructure;

namespace TinyML.Tests.Plan;

/// <summary>
/// Fused-layer tiling's analysis (<see cref="RowTiling"/>): the rows each tensor needs per tile, the stages a model
/// allows, and the arena and MACs the planner would choose, on the shared vision models.
/// </summary>
[TestClass]
public sealed class RowTilingTests
{
    /// <summary>
    /// Random chains of int8 convolutions (kernels 1-5, strides 1-2, dilation 1-2, uneven padding, depthwise), max and
    /// average pooling and clamps: every stage length and every tile height gives the untiled bytes in the reference.
    /// </summary>
    [TestMethod]
    public void RandomChains_EveryStageAndTileHeight_GiveTheUntiledBytes()
    {
        var (tilings, padded, cached) = (0, 0, 0);
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random(seed);
            var model = RandomChain(random);
            var input = Enumerable.Range(0, model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            var untiled = Int8Interpreter.RunAll(model, input);
            for (var first = 0; first < model.Ops.Count; first++)
            {
                for (var last = first; last < model.Ops.Count; last++)
                {
                    Assert.IsNull(RowTiling.WhyNotStage(model, first, last), $"seed {seed}: a chain is a stage");
                    var height = model.Tensors[model.Ops[last].Output].Shape[2];
                    for (var rows = 1; rows <= height; rows++)
                    {
                        // The halo rows recomputed, or kept from the tile before (halo caching).
                        foreach (var cache in new[] { false, true })
                        {
                            var stage = RowTiling.Bands(model, first, last, rows, cacheHalo: cache);
                            // With a second stage after it, of another tile height, when the chain goes on.
                            IReadOnlyList<TiledStage> stages = last + 1 < model.Ops.Count && rows % 2 == 0
                                ? [stage, RowTiling.Bands(model, last + 1, model.Ops.Count - 1, 1 + rows % 3, cacheHalo: !cache)] : [stage];
                            var tiled = TilingLowering.Apply(model, stages, 4);
                            padded += tiled.Ops.OfType<TiledStageOp>().SelectMany(t => t.TileOps.Skip(1)).SelectMany(ops => ops).Count(op => op is QConv2D { Geometry.PadTop: > 0 } or QPool { Geometry.PadTop: > 0 });
                            var outputs = Int8Interpreter.RunAll(tiled, input);
                            CollectionAssert.AreEqual(untiled[model.Output], outputs[model.Output], $"seed {seed}, ops {first}..{last} on tiles of {rows} rows{(cache ? ", halo cached" : "")}{(stages.Count > 1 ? ", then the rest" : "")}");
                            if (cache)
                            {
                                Assert.IsLessThanOrEqualTo(stage.UntiledMacs, stage.Macs, "a cached halo computes each row at most once");
                            }

                            (tilings, cached) = (tilings + 1, cached + (stage.CachesHalo ? 1 : 0));
                        }
                    }
                }
            }
        }

        Console.WriteLine($"{tilings} tilings of 40 random chains byte-identical with the untiled chains ({cached} caching halo rows; {padded} band ops after the first tile with padding above)");
        Assert.IsGreaterThan(500, cached);
        Assert.IsGreaterThan(1000, tilings);
        Assert.IsGreaterThan(100, padded, "tiles after the first still inside the padding above");
    }

    /// <summary>
    /// Random residual graphs (identity blocks, and projection blocks whose shortcut is a strided 1x1 convolution, as
    /// ResNet's): every stage that ends outside a block and every tile height gives the untiled bytes in the reference;
    /// a tensor two ops of the stage read holds the hull of their windows, and a reader whose window is less reads a
    /// copy of its rows (a view).
    /// </summary>
    [TestMethod]
    public void RandomResidualGraphs_EveryStageAndTileHeight_GiveTheUntiledBytes()
    {
        var (tilings, viewed, inside) = (0, 0, 0);
        for (var seed = 0; seed < 30; seed++)
        {
            var random = new Random(1000 + seed);
            var model = RandomResidualGraph(random);
            var input = Enumerable.Range(0, model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            var untiled = Int8Interpreter.RunAll(model, input);
            for (var first = 0; first < model.Ops.Count; first++)
            {
                for (var last = first; last < model.Ops.Count; last++)
                {
                    if (RowTiling.WhyNotStage(model, first, last) is { } why)
                    {
                        // Only a stage that ends inside a block (or starts inside one) is refused.
                        StringAssert.Contains(why, "read after the stage", $"seed {seed}, ops {first}..{last}");
                        continue;
                    }

                    var height = model.Tensors[model.Ops[last].Output].Shape[2];
                    for (var rows = 1; rows <= height; rows++)
                    {
                        foreach (var cache in new[] { false, true })
                        {
                            var stage = RowTiling.Bands(model, first, last, rows, cacheHalo: cache);
                            var tiled = TilingLowering.Apply(model, stage, 4);
                            var outputs = Int8Interpreter.RunAll(tiled, input);
                            CollectionAssert.AreEqual(untiled[model.Output], outputs[model.Output], $"seed {seed}, ops {first}..{last} on tiles of {rows} rows{(cache ? ", halo cached" : "")}");
                            viewed += stage.Views.Sum(v => v.Count);
                            inside += stage.OpIndices.Any(i => model.Ops[i] is QAdd) ? 1 : 0;
                            tilings++;
                        }
                    }
                }
            }
        }

        Console.WriteLine($"{tilings} tilings of 30 random residual graphs, halo rows recomputed or cached, byte-identical with the untiled graphs ({inside} with a residual add inside the stage, {viewed} views copied)");
        Assert.IsGreaterThan(500, inside);
        Assert.IsGreaterThan(500, viewed, "readers whose window is less than the hull");
    }

    /// <summary>
    /// The emitted C of tiled stages: random chains (every stage length, a few tile heights each) on the host, and the
    /// MLPerf Tiny VWW model with the tiling the planner chooses on the host and the Cortex-M4 in QEMU, its DSP kernels
    /// on bands; the bytes are the untiled model's reference bytes.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void EmittedTiledStages_GiveTheReferenceBytes_OnHostAndCortexM4()
    {
        var work = TestPaths.NewTempDir("tiling-c");
        var (runs, cachedRuns) = (0, 0);
        for (var seed = 0; seed < 6; seed++)
        {
            var random = new Random(100 + seed);
            var model = RandomChain(random);
            var input = Enumerable.Range(0, model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            var expected = Int8Interpreter.Run(model, input);
            for (var last = 0; last < model.Ops.Count; last++)
            {
                var height = model.Tensors[model.Ops[last].Output].Shape[2];
                foreach (var rows in new[] { 1, 2, height / 2 + 1 }.Where(r => r < height).Distinct())
                {
                    // A stage from the first op, or from the second with the first run whole, and a second stage after.
                    // Every other tiling keeps its halo rows (halo caching) instead of recomputing them.
                    var first = rows == 2 && last > 0 ? 1 : 0;
                    var cache = runs % 2 == 1;
                    IReadOnlyList<TiledStage> stages = last + 1 < model.Ops.Count && rows == 1
                        ? [RowTiling.Bands(model, first, last, rows, cacheHalo: cache), RowTiling.Bands(model, last + 1, model.Ops.Count - 1, 2, cacheHalo: !cache)]
                        : [RowTiling.Bands(model, first, last, rows, cacheHalo: cache)];
                    var tiled = TilingLowering.Apply(model, stages, 4);
                    var run = RunC(work, tiled, input, "host");
                    CollectionAssert.AreEqual(expected, run, $"seed {seed}, ops 0..{last}, tiles of {rows} rows{(cache ? ", halo cached" : "")}: C on the host");
                    (runs, cachedRuns) = (runs + 1, cachedRuns + (stages.Any(s => s.CachesHalo) ? 1 : 0));
                }
            }
        }

        var vwwPath = TestPaths.SharedOrSkip("models/mlperf_tiny_vww_mobilenetv1_025_int8_qdq/model.onnx");
        var vww = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null).Model;
        var choice = RowTiling.Choose(vww, 4);
        Assert.IsNotEmpty(choice.Stages, choice.Reason);
        var image = Enumerable.Range(0, vww.InputTensor.Bytes).Select(i => (sbyte)((i * 37 % 251) - 125)).ToArray();
        var vwwExpected = Int8Interpreter.Run(vww, image);
        var vwwTiled = TilingLowering.Apply(vww, choice.Stages, 4);
        // The input read where the caller has it: the arena holds no copy of it.
        var inPlace = RowTiling.Choose(vww, 4, inputInPlace: true);
        Assert.IsNotEmpty(inPlace.Stages, inPlace.Reason);
        var vwwInPlace = TilingLowering.Apply(vww, inPlace.Stages, 4, inputInPlace: true);
        Assert.IsTrue(vwwInPlace.InputInPlace);
        Assert.AreEqual(inPlace.TiledArenaBytes, ArenaPlanner.Plan(vwwInPlace, 4).ArenaBytes, "the analysis's arena is the plan's");
        foreach (var board in new[] { "host", "nrf52840" })
        {
            CollectionAssert.AreEqual(vwwExpected, RunC(work, vwwTiled, image, board), $"VWW tiled ({choice.Reason}) on {board}");
            CollectionAssert.AreEqual(vwwExpected, RunC(work, vwwInPlace, image, board), $"VWW tiled ({inPlace.Reason}), input read in place, on {board}");
        }

        Console.WriteLine(FormattableString.Invariant($"{runs} tiled random chains on the host ({cachedRuns} with halo rows cached); VWW ({choice.Reason}, arena {choice.UntiledArenaBytes:N0} -> {choice.TiledArenaBytes:N0} B; input read in place: {inPlace.Reason}, {inPlace.TiledArenaBytes:N0} B) on the host and the Cortex-M4: the reference bytes"));
        Assert.IsGreaterThan(10, cachedRuns, "tilings that keep halo rows");
    }

    /// <summary>
    /// The emitted C of tiled residual stages (the views copied with tml_gather_rows): random residual graphs on the
    /// host, and MLPerf Tiny IC (ResNet-8) with the tiling the planner chooses at MaxComputeOverhead 0.2 (its first two
    /// residual blocks in one stage, the input read in place) on the host and the Cortex-M4 in QEMU; the bytes are the
    /// untiled model's reference bytes.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void EmittedResidualStages_GiveTheReferenceBytes_OnHostAndCortexM4()
    {
        var work = TestPaths.NewTempDir("tiling-residual-c");
        var runs = 0;
        for (var seed = 0; seed < 4; seed++)
        {
            var random = new Random(2000 + seed);
            var model = RandomResidualGraph(random);
            var input = Enumerable.Range(0, model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            var expected = Int8Interpreter.Run(model, input);
            foreach (var last in Enumerable.Range(0, model.Ops.Count - 1).Where(l => RowTiling.WhyNotStage(model, l) is null && model.Ops.Take(l + 1).Any(op => op is QAdd)))
            {
                var height = model.Tensors[model.Ops[last].Output].Shape[2];
                foreach (var rows in new[] { 1, height / 2 + 1 }.Where(r => r < height).Distinct())
                {
                    var cache = rows == 1;
                    var tiled = TilingLowering.Apply(model, RowTiling.Bands(model, 0, last, rows, cacheHalo: cache), 4);
                    CollectionAssert.AreEqual(expected, Int8Interpreter.Run(tiled, input), $"seed {seed}, ops 0..{last}, tiles of {rows} rows{(cache ? ", halo cached" : "")}: the reference");
                    CollectionAssert.AreEqual(expected, RunC(work, tiled, input, "host"), $"seed {seed}, ops 0..{last}, tiles of {rows} rows{(cache ? ", halo cached" : "")}: C on the host");
                    runs++;
                }
            }
        }

        var icPath = TestPaths.SharedOrSkip("models/mlperf_tiny_ic_resnet8_int8_qdq/model.onnx");
        var ic = ModelCompiler.Compile(new CompileOptions { ModelPath = icPath, Name = "ic", Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null).Model;
        var choice = RowTiling.Choose(ic, 4, inputInPlace: true);
        Assert.IsTrue(choice.Stages.Any(s => s.OpIndices.Any(i => ic.Ops[i] is QAdd)), $"IC's residual blocks tiled: {choice.Reason}");
        Assert.IsTrue(choice.Stages.Any(s => s.Views.Any(v => v.Count > 0)), "the residual adds read views");
        var image = Enumerable.Range(0, ic.InputTensor.Bytes).Select(i => (sbyte)((i * 41 % 247) - 120)).ToArray();
        var icExpected = Int8Interpreter.Run(ic, image);
        // The planner's choice (the halo rows cached), and its first two blocks on 3 tiles with the halo recomputed.
        foreach (var (what, stages) in new (string, IReadOnlyList<TiledStage>)[] { (choice.Reason, choice.Stages), ("ops 0..7 on 3 tiles, halo recomputed", [RowTiling.Bands(ic, 0, 7, 6)]) })
        {
            var icTiled = TilingLowering.Apply(ic, stages, 4, inputInPlace: true);
            CollectionAssert.AreEqual(icExpected, Int8Interpreter.Run(icTiled, image), $"IC tiled ({what}) in the reference");
            foreach (var board in new[] { "host", "nrf52840" })
            {
                CollectionAssert.AreEqual(icExpected, RunC(work, icTiled, image, board), $"IC tiled ({what}) on {board}");
            }
        }

        Console.WriteLine(FormattableString.Invariant($"{runs} tiled random residual graphs on the host; IC ({choice.Reason}{(choice.Stages.Any(s => s.CachesHalo) ? ", halo cached" : "")}, arena {choice.UntiledArenaBytes:N0} -> {choice.TiledArenaBytes:N0} B, estimated instructions +{choice.ComputeOverhead:P1}; and with the halo recomputed) on the host and the Cortex-M4: the reference bytes"));
    }

    /// <summary>
    /// int16x8 layers inside a tiled stage: the float MLPerf Tiny VWW quantized here with its first six convolutions in
    /// int16x8 (their int8-to-int16 widening and int16-to-int8 narrowing on bands too; the int8 copies of the outputs the
    /// next int16x8 layer reads in int16 are not computed). Every tile height of a few stages in the reference, and the
    /// build's choice on the host and the Cortex-M4 in QEMU, give the untiled model's bytes.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void Int16x8Stages_GiveTheUntiledBytes_InTheReferenceOnHostAndCortexM4()
    {
        var vwwPath = TestPaths.SharedOrSkip("models/mlperf_tiny_vww_mobilenetv1_025/model.onnx");
        var work = TestPaths.NewTempDir("tiling-int16");
        CompileOptions Options(TilingMode mode) => new()
        {
            ModelPath = vwwPath, Name = "vww", Board = "nrf52840", Tiling = new TilingSettings(mode), OutputDirectory = mode == TilingMode.Auto ? Path.Combine(work, "code") : null,
            MixedPrecision = new PrecisionSettings { Layers = PrecisionSettings.ParseLayers(["Conv_1=int16x8;Conv_3=int16x8;Conv_5=int16x8;Conv_7=int16x8;Conv_9=int16x8;Conv_11=int16x8"], "vww") },
        };
        var untiled = ModelCompiler.Compile(Options(TilingMode.Off), TextWriter.Null);
        var model = untiled.Model;
        Assert.AreEqual(6, model.Ops.Count(op => op is QInt16x8Layer));
        var image = Enumerable.Range(0, model.InputTensor.Bytes).Select(i => (sbyte)((i * 29 % 241) - 118)).ToArray();
        var expected = Int8Interpreter.RunAll(model, image);
        var checkedStages = 0;
        foreach (var last in Enumerable.Range(0, 16).Where(l => RowTiling.WhyNotStage(model, l) is null && model.Ops.Take(l + 1).Any(op => op is QInt16x8Layer)))
        {
            var height = model.Tensors[model.Ops[last].Output].Shape[2];
            foreach (var rows in new[] { 1, 2, 5, height / 2 + 1 }.Where(r => r < height).Distinct())
            {
                var tiled = TilingLowering.Apply(model, RowTiling.Bands(model, last, rows), 4);
                CollectionAssert.AreEqual(expected[model.Output], Int8Interpreter.Run(tiled, image), $"ops 0..{last} on tiles of {rows} rows");
                checkedStages++;
            }
        }

        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(Options(TilingMode.Auto), log);
        var stages = compiled.Model.Ops.OfType<TiledStageOp>().ToList();
        Assert.IsTrue(stages.Any(s => s.Ops.Any(op => op is QInt16x8Layer)), $"the build tiles the int16x8 layers\n{log}");
        Assert.IsLessThan(untiled.Plan.ArenaBytes / 2, compiled.Plan.ArenaBytes);
        foreach (var board in new[] { "host", "nrf52840" })
        {
            var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), [image], board, TestPaths.Kernels, Path.Combine(work, "run-" + board));
            CollectionAssert.AreEqual(expected[model.Output], run.Outputs[0], $"tiled VWW with int16x8 layers on {board}");
        }

        Console.WriteLine(FormattableString.Invariant($"VWW with 6 int16x8 layers: {checkedStages} tilings in the reference, the build's ({string.Join("; ", stages.Select(s => $"ops {s.Stage.FirstOp}..{s.Stage.LastOp} on {s.Stage.TileCount} tiles"))}; arena {untiled.Plan.ArenaBytes:N0} -> {compiled.Plan.ArenaBytes:N0} B) on the host and the Cortex-M4: the untiled bytes"));
    }

    /// <summary>
    /// The openWakeWord embedding (65 ops: a reshape of the input into NCHW first, then convolutions each followed by
    /// two lookup tables, LeakyReLU and a maximum, and max pooling): the stages start after the reshape, the lookup
    /// tables run on bands (one table per channel or one for all), and the build's tiling gives the untiled bytes in
    /// the reference, on the host and on the Cortex-M4 in QEMU.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void TheTiledOpenWakeWordEmbedding_GivesTheUntiledBytes_OnHostAndCortexM4()
    {
        var path = TestPaths.SharedOrSkip("models/openwakeword_embedding/model.onnx");
        var work = TestPaths.NewTempDir("tiling-oww");
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "oww", Board = "nrf52840", OutputDirectory = Path.Combine(work, "code") }, log);
        var untiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "oww", Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null);
        var stages = compiled.Model.Ops.OfType<TiledStageOp>().ToList();
        Assert.IsTrue(stages.Any(s => s.Stage.FirstOp > 0 && s.Ops.Any(op => op is QLut)), $"stages after the reshape, with lookup tables\n{log}");
        Assert.IsLessThan(untiled.Plan.ArenaBytes / 2, compiled.Plan.ArenaBytes);
        var random = new Random(23);
        var input = Enumerable.Range(0, untiled.Model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
        var expected = Int8Interpreter.Run(untiled.Model, input);
        CollectionAssert.AreEqual(expected, Int8Interpreter.Run(compiled.Model, input), "the tiled model in the reference");
        foreach (var board in new[] { "host", "nrf52840" })
        {
            var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), [input], board, TestPaths.Kernels, Path.Combine(work, "run-" + board));
            CollectionAssert.AreEqual(expected, run.Outputs[0], $"the tiled embedding on {board}");
        }

        Console.WriteLine(FormattableString.Invariant($"openWakeWord embedding: {string.Join("; ", stages.Select(s => $"ops {s.Stage.FirstOp}..{s.Stage.LastOp} on {s.Stage.TileCount} tiles{(s.Stage.CachesHalo ? ", halo cached" : "")}"))}; arena {untiled.Plan.ArenaBytes:N0} -> {compiled.Plan.ArenaBytes:N0} B; the untiled bytes in the reference, on the host and the Cortex-M4"));
    }

    /// <summary>
    /// The build's choice (Tiling="auto", the default): VWW's arena at most half its layer-by-layer bound, within the
    /// compute budget, said in the log and report.json; invoke_f32 quantizing the input band by band gives the bytes
    /// of the untiled model's reference for the quantized image, and Tiling="off" keeps the layer-by-layer build.
    /// </summary>
    [TestMethod]
    public void TheBuild_TilesVww_AndSaysWhatAndWhy()
    {
        var vwwPath = TestPaths.SharedOrSkip("models/mlperf_tiny_vww_mobilenetv1_025_int8_qdq/model.onnx");
        var work = TestPaths.NewTempDir("tiling-build");
        var log = new StringWriter();
        var tiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Board = "nrf52840", OutputDirectory = Path.Combine(work, "code") }, log);
        var untiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null);
        Console.WriteLine(string.Join("\n", log.ToString().Split('\n').Where(l => l.Contains("tiling", StringComparison.Ordinal))));

        Assert.IsLessThanOrEqualTo(untiled.Plan.LowerBound / 2, tiled.Plan.ArenaBytes, "VWW's arena at most half its layer-by-layer bound");
        StringAssert.Contains(log.ToString(), FormattableString.Invariant($"tinyml: vww: tiling: arena {untiled.Plan.ArenaBytes:N0} -> {tiled.Plan.ArenaBytes:N0} B (layer-by-layer bound {untiled.Plan.LowerBound:N0} B)"));
        StringAssert.Contains(log.ToString(), "the input is read where the caller has it");
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(work, "code", "vww.report.json")))!["tiling"]!;
        Assert.IsTrue((bool)report["chosen"]!);
        Assert.AreEqual(untiled.Plan.ArenaBytes, (int)report["layerByLayerArenaBytes"]!);
        Assert.AreEqual(tiled.Plan.ArenaBytes, (int)report["arenaBytes"]!);
        Assert.IsLessThanOrEqualTo(0.10, (double)report["estimatedInstructionOverhead"]!, "within MaxComputeOverhead");
        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "code", "vww.memory.svg")), "tiled stage of ");

        // invoke_f32: the float image quantized band by band as the tiles gather it.
        var image = Enumerable.Range(0, tiled.Model.InputTensor.ElementCount).Select(i => (float)((i * 37 % 251) / 251.0)).ToArray();
        var quantized = image.Select(v => QuantizationMath.QuantizeFloat(v, tiled.Model.InputTensor.Scale, tiled.Model.InputTensor.ZeroPoint)).ToArray();
        var expected = Int8Interpreter.Run(untiled.Model, quantized)
            .Select(q => QuantizationMath.Dequantize(q, untiled.Model.OutputTensor.Scale, untiled.Model.OutputTensor.ZeroPoint)).ToArray();
        var main = HostC.WriteSource($$"""
            #include <stdio.h>
            #include <string.h>
            #include "vww.h"
            static const float image[{{image.Length}}] = { {{string.Join(", ", image.Select(CText.FloatLiteral))}} };
            int main(void)
            {
                static float output[TML_VWW_OUTPUT_SIZE];
                int k;
                if (tml_vww_invoke_f32(image, output) != 0) {
                    return 1;
                }
                for (k = 0; k < TML_VWW_OUTPUT_SIZE; k++) {
                    uint32_t u;
                    memcpy(&u, &output[k], 4);
                    printf("%08lx\n", (unsigned long)u);
                }
                return 0;
            }
            """);
        var run = HostC.CompileAndRun([main, Path.Combine(work, "code", "vww.c"), .. HostC.KernelSources()], [Path.Combine(work, "code"), HostC.KernelInclude]);
        Assert.AreEqual(0, run.ExitCode, run.StdErr);
        CollectionAssert.AreEqual(expected.Select(v => BitConverter.SingleToUInt32Bits(v)).ToArray(),
            run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(h => Convert.ToUInt32(h.Trim(), 16)).ToArray(), "invoke_f32 on the tiled model");
    }

    /// <summary>
    /// VWW as the build tiles it for each core (its kernels, its alignment): the Cortex-M55 (Helium paths on bands),
    /// the Cortex-M0+ and RISC-V (ESP32-C3) in QEMU give the untiled model's reference bytes.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    [DataRow("corstone300", DisplayName = "Cortex-M55 (Helium)")]
    [DataRow("rp2040", DisplayName = "Cortex-M0+")]
    [DataRow("esp32c3", DisplayName = "RISC-V (ESP32-C3)")]
    public void TheTiledVww_GivesTheReferenceBytes_OnEachCore(string board)
    {
        if (board == "esp32c3")
        {
            Firmware.Esp32C3QemuBoardTests.RequireRiscv();
        }
        else
        {
            Kernels.DspKernelEquivalenceTests.RequireArm();
        }

        var vwwPath = TestPaths.SharedOrSkip("models/mlperf_tiny_vww_mobilenetv1_025_int8_qdq/model.onnx");
        var work = TestPaths.NewTempDir("tiling-" + board);
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Board = board, OutputDirectory = Path.Combine(work, "code") }, log);
        Assert.IsTrue(compiled.Model.Ops.OfType<TiledStageOp>().Any(), $"{board}: VWW is tiled\n{log}");
        var image = Enumerable.Range(0, compiled.Model.InputTensor.Bytes).Select(i => (sbyte)((i * 53 % 253) - 126)).ToArray();
        var untiled = ModelCompiler.Compile(new CompileOptions { ModelPath = vwwPath, Name = "vww", Board = board, Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null);
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), [image], board, TestPaths.Kernels, Path.Combine(work, "run"));
        CollectionAssert.AreEqual(Int8Interpreter.Run(untiled.Model, image), run.Outputs[0], $"tiled VWW on {board}");
        Console.WriteLine(FormattableString.Invariant($"{board}: tiled VWW (arena {untiled.Plan.ArenaBytes:N0} -> {compiled.Plan.ArenaBytes:N0} B) gives the reference bytes"));
    }

    private static sbyte[] RunC(string work, LoweredModel model, sbyte[] input, string board)
    {
        var plan = ArenaPlanner.Plan(model, 4);
        var code = CEmitter.Emit(model, plan, "tiled", "a tiled model");
        var codeDir = Path.Combine(work, "code-" + board);
        Directory.CreateDirectory(codeDir);
        File.WriteAllText(Path.Combine(codeDir, code.HeaderFileName), code.Header);
        File.WriteAllText(Path.Combine(codeDir, code.SourceFileName), code.Source);
        return HarnessFirmware.Run(code, codeDir, [input], board, TestPaths.Kernels, Path.Combine(work, "harness-" + board)).Outputs[0];
    }

    /// <summary>
    /// A random residual graph over NCHW: a stem convolution, then 2-4 blocks, each an identity block (one or two
    /// convolutions keeping the shape, padding above and below uneven, then an Add with the block's input) or a
    /// projection block (a convolution of stride 1-2 and a 1x1 convolution of the same stride on the block's input,
    /// added), sometimes a clamp or a lookup table between blocks.
    /// </summary>
    private static LoweredModel RandomResidualGraph(Random random)
    {
        var model = new LoweredModel { Name = "residual", Input = 0, Output = 0 };
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "in", Shape = [1, random.Next(1, 4), random.Next(8, 26), random.Next(2, 7)], Scale = 0.05f, ZeroPoint = random.Next(-10, 10) });

        int Add(LoweredOp op, int[] shape, int zeroPoint)
        {
            var id = model.Tensors.Count;
            model.Tensors.Add(new LoweredTensor { Id = id, Name = $"t{id}", Shape = shape, Scale = 0.05f, ZeroPoint = zeroPoint });
            model.Ops.Add(op);
            return id;
        }

        // A convolution of the kernel's height whose padding above and below adds up to kernel - 1: its output has
        // (H - 1) / stride + 1 rows whatever the split, as the 1x1 shortcut's.
        int Conv(int source, int outC, int kernel, int stride, bool depthwise = false)
        {
            var (inC, inH, inW) = (model.Tensors[source].Shape[1], model.Tensors[source].Shape[2], model.Tensors[source].Shape[3]);
            depthwise &= outC == inC;
            var kernelW = kernel <= inW ? kernel : 1;
            var top = random.Next(kernel);
            var (outH, outW) = ((inH - 1) / stride + 1, (inW - 1) / stride + 1);
            var groups = depthwise ? inC : 1;
            var requant = Enumerable.Range(0, outC).Select(_ => QuantizationMath.QuantizeMultiplier(0.0005 + random.NextDouble() * 0.01)).ToArray();
            var zeroPoint = random.Next(-10, 10);
            var id = model.Tensors.Count;
            return Add(new QConv2D
            {
                NodeName = $"conv{id}", Inputs = [source], Output = id,
                Geometry = new ConvGeometry(inC, inH, inW, outC, outH, outW, kernel, kernelW, stride, stride, top, (kernelW - 1) / 2, 1, 1, groups),
                Weights = Enumerable.Range(0, outC * (inC / groups) * kernel * kernelW).Select(_ => (sbyte)random.Next(-127, 128)).ToArray(),
                Bias = Enumerable.Range(0, outC).Select(_ => random.Next(-2000, 2000)).ToArray(), Activation = new(random.Next(-128, -100), random.Next(100, 128)),
                OutputMultiplier = requant.Select(q => q.Multiplier).ToArray(), OutputShift = requant.Select(q => q.Shift).ToArray(),
                InputZeroPoint = model.Tensors[source].ZeroPoint, OutputZeroPoint = zeroPoint,
            }, [1, outC, outH, outW], zeroPoint);
        }

        int Sum(int a, int b)
        {
            var zeroPoint = random.Next(-10, 10);
            var p = QuantizationMath.PrepareAdd(0.05f, model.Tensors[a].ZeroPoint, 0.05f, model.Tensors[b].ZeroPoint, 0.07f, zeroPoint);
            var id = model.Tensors.Count;
            return Add(new QAdd
            {
                NodeName = $"add{id}", Inputs = [a, b], Output = id, Count = model.Tensors[a].ElementCount,
                Input1 = new(model.Tensors[a].ZeroPoint, p.Input1Multiplier, p.Input1Shift), Input2 = new(model.Tensors[b].ZeroPoint, p.Input2Multiplier, p.Input2Shift),
                LeftShift = p.LeftShift, OutputRequantization = new(p.OutputMultiplier, p.OutputShift), OutputZeroPoint = zeroPoint,
                Activation = new(random.Next(2) == 0 ? zeroPoint : -128, 127),
            }, model.Tensors[a].Shape, zeroPoint);
        }

        var x = Conv(0, random.Next(1, 5), new[] { 1, 3, 3, 5 }[random.Next(4)], 1);
        for (var blocks = random.Next(2, 5); blocks > 0; blocks--)
        {
            var channels = model.Tensors[x].Shape[1];
            if (random.Next(2) == 0 || model.Tensors[x].Shape[2] < 6)
            {
                var y = Conv(x, channels, new[] { 1, 3, 3, 5 }[random.Next(4)], 1, depthwise: random.Next(3) == 0);
                if (random.Next(2) == 0)
                {
                    y = Conv(y, channels, 3, 1);
                }

                x = random.Next(2) == 0 ? Sum(x, y) : Sum(y, x);
            }
            else
            {
                var (outC, stride) = (random.Next(1, 6), random.Next(1, 3));
                var y = Conv(Conv(x, outC, 3, stride), outC, 3, 1);
                var shortcut = Conv(x, outC, 1, stride);
                x = random.Next(2) == 0 ? Sum(y, shortcut) : Sum(shortcut, y);
            }

            if (random.Next(4) == 0)
            {
                var id = model.Tensors.Count;
                x = Add(new QClamp { NodeName = $"clamp{id}", Inputs = [x], Output = id, Count = model.Tensors[x].Bytes, Min = random.Next(-128, 0), Max = random.Next(0, 128) },
                    model.Tensors[x].Shape, model.Tensors[x].ZeroPoint);
            }
            else if (random.Next(3) == 0)
            {
                // A lookup table: one per channel, or one for all values.
                var (id, shape) = (model.Tensors.Count, model.Tensors[x].Shape);
                var view = random.Next(2) == 0 ? new AxisView(1, shape[1], shape[2] * shape[3]) : new AxisView(1, 1, model.Tensors[x].Bytes);
                x = Add(new QLut { NodeName = $"lut{id}", Inputs = [x], Output = id, View = view, Tables = Enumerable.Range(0, view.Size * 256).Select(_ => (sbyte)random.Next(-128, 128)).ToArray() },
                    shape, model.Tensors[x].ZeroPoint);
            }
        }

        model.Output = x;
        return model;
    }

    /// <summary>A random chain over NCHW: 2-6 convolutions, pools and clamps with random int8 parameters.</summary>
    private static LoweredModel RandomChain(Random random)
    {
        var (channels, height, width) = (random.Next(1, 5), random.Next(6, 30), random.Next(2, 9));
        var count = random.Next(2, 7);
        var model = new LoweredModel { Name = "chain", Input = 0, Output = count };
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "in", Shape = [1, channels, height, width], Scale = 0.05f, ZeroPoint = random.Next(-10, 10) });
        for (var i = 1; i <= count; i++)
        {
            var source = model.Tensors[i - 1];
            var (inC, inH, inW) = (source.Shape[1], source.Shape[2], source.Shape[3]);
            var kind = random.Next(4);
            var drawn = RandomWindow.Draw(random, inH, inW, dilated: kind < 2);
            var (kernel, kernelW, stride, dilation, top, bottom, left, outH, outW) = drawn;
            if (!drawn.Fits(inH) || kind == 3 && i == 1)
            {
                kind = 3; // a clamp keeps the shape
            }

            int[] shape;
            LoweredOp op;
            if (kind < 2)
            {
                var depthwise = kind == 1 && inC > 1;
                var outC = depthwise ? inC : random.Next(1, 6);
                var groups = depthwise ? inC : 1;
                var geometry = new ConvGeometry(inC, inH, inW, outC, outH, outW, kernel, kernelW, stride, stride, top, left, dilation, 1, groups);
                shape = [1, outC, outH, outW];
                var weights = Enumerable.Range(0, outC * (inC / groups) * kernel * kernelW).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();
                var requant = Enumerable.Range(0, outC).Select(_ => QuantizationMath.QuantizeMultiplier(0.0005 + random.NextDouble() * 0.01)).ToArray();
                op = new QConv2D
                {
                    NodeName = $"conv{i}", Inputs = [i - 1], Output = i, Geometry = geometry, Weights = weights,
                    Bias = Enumerable.Range(0, outC).Select(_ => random.Next(-2000, 2000)).ToArray(), Activation = new(random.Next(-128, -100), random.Next(100, 128)),
                    OutputMultiplier = requant.Select(q => q.Multiplier).ToArray(), OutputShift = requant.Select(q => q.Shift).ToArray(),
                    InputZeroPoint = source.ZeroPoint, OutputZeroPoint = random.Next(-10, 10),
                };
            }
            else if (kind == 2)
            {
                var window = new WindowGeometry(kernel, kernelW, stride, stride, 1, 1, top, left, bottom, left, outH, outW);
                shape = [1, inC, outH, outW];
                op = new QPool
                {
                    NodeName = $"pool{i}", Inputs = [i - 1], Output = i, Kind = random.Next(2) == 0 ? PoolKind.Max : PoolKind.Average,
                    InputPlanes = new PlaneGeometry(inC, inH, inW), Geometry = window, Activation = new(-128, 127),
                };
            }
            else
            {
                shape = source.Shape;
                op = new QClamp { NodeName = $"clamp{i}", Inputs = [i - 1], Output = i, Count = source.Bytes, Min = random.Next(-128, 0), Max = random.Next(0, 128) };
            }

            var zeroPoint = op is QConv2D c ? c.OutputZeroPoint : source.ZeroPoint;
            model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = shape, Scale = 0.05f, ZeroPoint = zeroPoint });
            model.Ops.Add(op);
        }

        return model;
    }

    /// <summary>The tiled stage computes the untiled bytes: every tile height on several stage lengths of a real model
    /// (stride-2 convolutions, depthwise, pointwise, first and last tiles with padding), in the C# reference.</summary>
    [TestMethod]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025_int8_qdq", new[] { 0, 3, 7, 11 })]
    [DataRow("mlperf_tiny_kws_dscnn_int8_qdq", new[] { 0, 2, 8 })]
    [DataRow("mlperf_tiny_ic_resnet8_int8_qdq", new[] { 0, 3, 7 })]
    public void TiledStages_GiveTheUntiledBytes(string folder, int[] lastOps)
    {
        var modelPath = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");
        var model = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "m", Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null).Model;
        var random = new Random(17);
        var input = Enumerable.Range(0, model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
        var untiled = Int8Interpreter.RunAll(model, input);
        var checkedStages = 0;
        foreach (var last in lastOps)
        {
            Assert.IsNull(RowTiling.WhyNotStage(model, last));
            var height = model.Tensors[model.Ops[last].Output].Shape[2];
            foreach (var rows in Enumerable.Range(1, height).Where(r => r <= 3 || r == height / 2 || r >= height - 1))
            {
                var stage = RowTiling.Bands(model, last, rows);
                var tiled = TilingLowering.Apply(model, stage, 4);
                var outputs = Int8Interpreter.RunAll(tiled, input);
                CollectionAssert.AreEqual(untiled[stage.Output], outputs[stage.Output], $"ops 0..{last}, tiles of {rows} rows: the stage's output");
                CollectionAssert.AreEqual(untiled[model.Output], outputs[model.Output], $"ops 0..{last}, tiles of {rows} rows: the model's output");
                Assert.IsGreaterThanOrEqualTo(stage.UntiledMacs, stage.Macs, "halo rows only add MACs");
                checkedStages++;
            }
        }

        Console.WriteLine($"{folder}: {checkedStages} tilings byte-identical with the untiled model");
    }

    [TestMethod]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025_int8_qdq")]
    [DataRow("mlperf_tiny_ic_resnet8_int8_qdq")]
    [DataRow("mlperf_tiny_kws_dscnn_int8_qdq")]
    public void SharedVisionModels_TilingFigures(string folder)
    {
        var modelPath = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "m", Board = "nrf52840", Tiling = new TilingSettings(TilingMode.Off) }, TextWriter.Null);
        var model = compiled.Model;
        foreach (var inPlace in new[] { false, true })
        {
            var choice = RowTiling.Choose(model, 4, inputInPlace: inPlace);
            // VWW's 48x48 and IC's 32x32 maps are worth tiling (VWW below half its bound once the input is read in
            // place, IC's first two residual blocks within 0.6 of it); KWS's 25x5 maps are not.
            if (!folder.Contains("kws", StringComparison.Ordinal))
            {
                Assert.IsNotEmpty(choice.Stages, choice.Reason);
                Assert.IsLessThanOrEqualTo(!inPlace ? compiled.Plan.LowerBound : folder.Contains("vww", StringComparison.Ordinal) ? compiled.Plan.LowerBound / 2 : compiled.Plan.LowerBound * 6 / 10, choice.TiledArenaBytes);
                Assert.IsLessThanOrEqualTo(RowTiling.DefaultMaxComputeOverhead, choice.ComputeOverhead);
            }
            else
            {
                Assert.IsEmpty(choice.Stages, $"{folder}: {choice.Reason}");
                Assert.AreEqual(compiled.Plan.ArenaBytes, choice.TiledArenaBytes);
            }

            Console.WriteLine(FormattableString.Invariant($"{folder} (input {(inPlace ? "read in place" : "in the arena")}): arena {choice.UntiledArenaBytes:N0} -> {choice.TiledArenaBytes:N0} B, lower bound {compiled.Plan.LowerBound:N0}; MACs +{choice.ComputeOverhead:P1}; {choice.Reason}"));
            foreach (var s in choice.Stages)
            {
                Console.WriteLine(FormattableString.Invariant($"  stage output '{model.Tensors[s.Output].Name}' [{string.Join(",", model.Tensors[s.Output].Shape)}], bands {string.Join(", ", s.BandBytes.Select(b => $"{model.Tensors[b.Key].Name}:{b.Value}"))}, tile bytes {RowTiling.TileBytes(model, s, 4):N0}"));
            }
        }

        for (var last = 0; last < model.Ops.Count; last++)
        {
            Console.WriteLine($"  op {last} {model.Ops[last].KindName} {model.Ops[last].NodeName} [{string.Join(",", model.Tensors[model.Ops[last].Output].Shape)}] {RowTiling.WhyNotStage(model, last) ?? "stage ok"}");
        }
    }
}
