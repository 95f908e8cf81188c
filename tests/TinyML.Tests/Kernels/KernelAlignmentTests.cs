using TinyML.Tests.Firmware;
using TinyML.Tests.Infrastructure;

namespace TinyML.Tests.Kernels;

/// <summary>
/// No kernel may make an unaligned 16/32-bit access (GUIDE: "no unaligned access"; Xtensa faults on one, RISC-V
/// traps or emulates it slowly). The random kernel equivalence cases run again with every int8 input, weight, table and
/// output at an odd address and every int16 one at 2 mod 4 (<see cref="HarnessTarget.MisalignNarrowBuffers"/>):
/// <list type="bullet">
/// <item>on the Xtensa lx106 in QEMU, which raises LoadStoreAlignmentCause on a misaligned l16/l32/s16/s32 (the
/// lx106-qemu board exits with 99 then, see XtensaLx106Tests.MisalignedWordLoadEndsTheRunWithTheAlignmentFault), and
/// runs the Xtensa-only code paths (biased weights, 16-bit-piece requantization);</item>
/// <item>on the host under UBSan's alignment check (-fsanitize=alignment), which sees misaligned accesses the x86
/// hardware would tolerate, including in paths the lx106 build does not take.</item>
/// </list>
/// Outputs must still equal the C# reference byte for byte.
/// </summary>
[TestClass]
public sealed class KernelAlignmentTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly string Lx106Objects = TestPaths.NewTempDir("lx106-kernel-objects");

    private static HarnessTarget Lx106 => new("lx106-qemu", MisalignNarrowBuffers: true, [], Lx106Objects);

    private static readonly HarnessTarget HostUbsan = new("host", MisalignNarrowBuffers: true,
        ["-fsanitize=alignment", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]);

    public static IEnumerable<object[]> Cases =>
    [
        ["conv2d"], ["conv_transpose2d"], ["fully_connected"], ["pool"], ["add"], ["add_tabulated"], ["softmax"],
        ["softmax_tflm"], ["clamp"], ["quantize"], ["fixed_point"], ["lut"], ["binary_broadcast"], ["conv2d_s16"],
        ["fully_connected_s16"], ["exp_sigmoid_tanh"], ["lstm_gru"], ["layernorm"], ["isqrt"], ["fully_connected_long"],
        ["comparisons_logic"], ["where"], ["reduce_max"],
    ];

    [TestMethod]
    [TestCategory("Emulator")]
    [DynamicData(nameof(Cases))]
    public void KernelOnLx106WithMisalignedBuffersMatchesReference(string kernel)
    {
        XtensaLx106Tests.RequireXtensa();
        Lx106.Run(Test(kernel));
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void KernelOnHostUnderUbsanWithMisalignedBuffersMatchesReference(string kernel)
    {
        RequireUbsan();
        HostUbsan.Run(Test(kernel));
    }

    [TestMethod]
    public void MisalignedHarnessReallyMisalignsAndUbsanReallyReports()
    {
        // The two proofs above are only as good as their set-up: the harness must place int8 data at odd addresses,
        // and UBSan must stop a run that does a misaligned 32-bit load.
        RequireUbsan();
        var values = new List<long>();
        HostUbsan.Run(() =>
        {
            var harness = new CHarness();
            string bytes = harness.ConstArray("int8_t", [1, 2, 3, 4, 5]);
            string shorts = harness.ConstArray("int16_t", [1, 2]);
            string output = harness.OutputBuffer("int8_t", 3);
            harness.PrintI32($"(int32_t)((uintptr_t){bytes} & 3u)");
            harness.PrintI32($"(int32_t)((uintptr_t){shorts} & 3u)");
            harness.PrintI32($"(int32_t)((uintptr_t){output} & 3u)");
            values.AddRange(harness.Run().Select(line => line[0]));
        });
        Assert.AreEqual(1, values[0] % 2, "int8 arrays at odd addresses");
        Assert.AreEqual(2, values[1], "int16 arrays at 2 mod 4");
        Assert.AreEqual(1, values[2] % 2, "int8 buffers at odd addresses");

        var source = HostC.WriteSource("""
            #include <stdint.h>
            #include <stdio.h>
            static union { int32_t word; int8_t bytes[8]; } data = { .bytes = { 1, 2, 3, 4, 5, 6, 7, 8 } };
            int main(void)
            {
                volatile int offset = 1;
                const int32_t *p = (const int32_t *)(const void *)(data.bytes + offset);
                printf("%ld\n", (long)*p);
                return 0;
            }
            """);
        var exe = HostC.Compile([source], [], HostUbsan.HostFlags);
        var result = HostC.Run(exe, [], TimeSpan.FromMinutes(1));
        Assert.AreNotEqual(0, result.ExitCode, "UBSan must stop a misaligned 32-bit load");
        StringAssert.Contains(result.StdErr, "misaligned address");
    }

    [TestMethod]
    public void GeneratedEntryPointsRejectAMisalignedCallerArena()
    {
        // The one way generated code could still make a misaligned access: a caller arena that is not aligned (the
        // kernels keep int16/int32 scratch and float tensors in it). The *_with_arena entry points refuse it.
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var work = TestPaths.NewTempDir("misaligned-arena");
        var code = Path.Combine(work, "code");
        var int8 = TinyML.Pipeline.ModelCompiler.Compile(new TinyML.Pipeline.CompileOptions
        {
            ModelPath = Path.Combine(demo, "digits.onnx"), Name = "digits", OutputDirectory = code, CalibrationData = Path.Combine(demo, "calib"),
        }, TextWriter.Null);
        var f32 = TinyML.Pipeline.ModelCompiler.Compile(new TinyML.Pipeline.CompileOptions
        {
            ModelPath = Path.Combine(demo, "digits.onnx"), Name = "digits_f32", OutputDirectory = code, Precision = TinyML.Pipeline.ModelPrecision.Float32,
        }, TextWriter.Null);
        var main = HostC.WriteSource("""
            #include <stdio.h>
            #include "digits.h"
            #include "digits_f32.h"
            static union { int32_t word; uint8_t bytes[TML_DIGITS_ARENA_SIZE + TML_DIGITS_F32_ARENA_SIZE + 8]; } arena;
            int main(void)
            {
                static int8_t in[TML_DIGITS_INPUT_SIZE], out[TML_DIGITS_OUTPUT_SIZE];
                static float fin[TML_DIGITS_F32_INPUT_SIZE], fout[TML_DIGITS_F32_OUTPUT_SIZE];
                printf("%d %d %d %d\n",
                       tml_digits_invoke_with_arena(arena.bytes + 1, in, out), tml_digits_invoke_with_arena(arena.bytes, in, out),
                       tml_digits_f32_invoke_f32_with_arena(arena.bytes + 2, fin, fout), tml_digits_f32_invoke_f32_with_arena(arena.bytes + 4, fin, fout));
                return 0;
            }
            """);
        var result = HostC.CompileAndRun([main, Path.Combine(code, int8.Code.SourceFileName), Path.Combine(code, f32.Code.SourceFileName), .. HostC.KernelSources()],
            [code, HostC.KernelInclude]);

        Assert.AreEqual("-1 0 -1 0", result.StdOut.Trim(), "misaligned arenas are refused, aligned ones run");
    }

    private Action Test(string kernel)
    {
        var equivalence = new KernelEquivalenceTests { TestContext = TestContext };
        var elementwise = new ElementwiseKernelEquivalenceTests { TestContext = TestContext };
        var int16x8 = new Int16x8KernelEquivalenceTests { TestContext = TestContext };
        var logic = new LogicKernelEquivalenceTests { TestContext = TestContext };
        return kernel switch
        {
            "conv2d" => equivalence.Conv2D_RandomCases_CMatchesReference,
            "conv_transpose2d" => equivalence.ConvTranspose2D_RandomCases_CMatchesReference,
            "fully_connected" => equivalence.FullyConnected_RandomCases_CMatchesReference,
            "pool" => equivalence.Pool_RandomMaxAndAverageCases_CMatchesReference,
            "add" => equivalence.Add_RandomCases_CMatchesReference,
            "add_tabulated" => equivalence.Add_LongInputs_TabulatedPathMatchesReference,
            "softmax" => equivalence.Softmax_RandomRowsWithLargeAndSmallRanges_CMatchesReference,
            "softmax_tflm" => new TflmSoftmaxOracleTests().Softmax_CKernel_ReproducesAllTflmOutputBytes,
            "clamp" => equivalence.Clamp_RandomCases_CMatchesReferenceIncludingInPlace,
            "quantize" => equivalence.QuantizeAndDequantize_RandomAndHalfwayValues_CMatchesReference,
            "fixed_point" => equivalence.FixedPointHelpers_RandomAndEdgeValues_CMatchesReference,
            "lut" => elementwise.Lut_RandomTablesAndChannelLayouts_CMatchesReferenceIncludingInPlace,
            "binary_broadcast" => elementwise.BinaryBroadcast_RandomShapesAndParameters_CMatchesReference,
            "conv2d_s16" => int16x8.Conv2DS16_RandomCases_CMatchesReference,
            "fully_connected_s16" => int16x8.FullyConnectedS16AndConversions_RandomCases_CMatchReference,
            "exp_sigmoid_tanh" => new RecurrentS8EquivalenceTests().ExpSigmoidTanh_CSharpPort_MatchesTheCBitForBit,
            "lstm_gru" => new RecurrentS8EquivalenceTests().LstmAndGru_RandomCases_CMatchesReference,
            "layernorm" => new LayerNormKernelTests().CKernelEqualsTheReferenceOnRandomParametersAndIsWithinOneStepOfFloat,
            "isqrt" => new LayerNormKernelTests().IntegerSquareRootIsExactInCAndCSharp,
            "fully_connected_long" => equivalence.FullyConnected_LongRows_ChunkedPathMatchesReference,
            "comparisons_logic" => logic.ComparisonsAndLogicalOps_RandomShapesAndScales_CMatchesReference,
            "where" => logic.Where_RandomBroadcastAndRequantization_CMatchesReference,
            "reduce_max" => logic.ReduceMax_RandomViews_CMatchesReference,
            _ => throw new ArgumentException($"unknown kernel case {kernel}", nameof(kernel)),
        };
    }

    private static void RequireUbsan()
    {
        HostC.RequireTool("gcc");
        var probe = HostC.WriteSource("int main(void) { return 0; }\n");
        var exe = Path.Combine(Path.GetDirectoryName(probe)!, "probe");
        var result = HostC.Run("gcc", ["-fsanitize=alignment", probe, "-o", exe], TimeSpan.FromMinutes(1));
        if (result.ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: the host gcc cannot link -fsanitize=alignment (libubsan missing)");
        }
    }
}
