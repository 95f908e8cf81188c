using TinyML.Firmware;
using TinyML.Ir;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Firmware;

namespace TinyML.Tests.Kernels;

/// <summary>
/// The Helium (MVE) kernel paths of the Cortex-M55 (tml_conv2d_s8_mve.c, tml_fully_connected_s8_mve.c), built with
/// <c>-mcpu=cortex-m55</c> for the <c>corstone300-qemu</c> image and run in QEMU's mps3-an547, against the C# reference
/// byte for byte: the shared random kernel cases, then shapes aimed at the vector code (reductions that are not a
/// multiple of 16, odd channel and output counts, partial blocks of four pixels, padding, strides, dilation, depthwise
/// planes that take several bands, extreme requantization shifts). Every int8 array sits at an odd address.
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class HeliumKernelTests
{
    private const string Board = "corstone300-qemu";

    public TestContext TestContext { get; set; } = null!;

    private static readonly string HeliumObjects = TestPaths.NewTempDir("m55-kernel-objects");

    private static HarnessTarget Helium => new(Board, MisalignNarrowBuffers: true, [], HeliumObjects);

    [TestInitialize]
    public void RequireArm() => ChipImageTests.RequireArm();

    [TestMethod]
    public void The_m55_build_compiles_the_helium_paths_and_the_nomve_build_does_not()
    {
        // Without this, every test below could pass on the portable code alone (a wrong feature test, a flag lost).
        // The dot products of the convolutions and fully connected layers, Add's vector rescaling, the pools' window sums.
        foreach (var (source, mnemonics) in new[]
                 {
                     ("tml_conv2d_s8_mve.c", new[] { "\tvmlava.s8", "\tvmladava.s8" }),
                     ("tml_fully_connected_s8_mve.c", new[] { "\tvmlava.s8", "\tvmladava.s8" }),
                     ("tml_add_s8_mve.c", new[] { "\tvqrdmulh.s32" }),
                     ("tml_pool_s8.c", new[] { "\tvaddva.s8" }),
                 })
        {
            Assert.IsGreaterThan(0, HeliumInstructions(Boards.Corstone300Qemu, source, mnemonics), $"{source}: Helium instructions in the corstone300-qemu build");
            Assert.IsGreaterThan(0, HeliumInstructions(Boards.Corstone300, source, mnemonics), $"{source}: the chip image takes the same paths");
            Assert.AreEqual(0, HeliumInstructions(Boards.Corstone300NoMveQemu, source, mnemonics), $"{source}: TML_NO_MVE turns the Helium paths off");
        }
    }

    [TestMethod]
    [DataRow("conv2d")]
    [DataRow("fully_connected")]
    [DataRow("fully_connected_long")]
    [DataRow("add")]
    [DataRow("add_long")]
    [DataRow("pool")]
    [DataRow("average_pool_wide")]
    public void SharedRandomCasesOnTheM55MatchTheReference(string kernel)
    {
        // Add (tml_add_s8_mve.c: four elements per vector, short and long inputs) and average pooling (window sums by
        // VADDVA) have Helium paths too.
        var equivalence = new KernelEquivalenceTests { TestContext = TestContext };
        var dsp = new DspKernelEquivalenceTests { TestContext = TestContext };
        Action test = kernel switch
        {
            "conv2d" => equivalence.Conv2D_RandomCases_CMatchesReference,
            "fully_connected" => equivalence.FullyConnected_RandomCases_CMatchesReference,
            "fully_connected_long" => equivalence.FullyConnected_LongRows_ChunkedPathMatchesReference,
            "add" => equivalence.Add_RandomCases_CMatchesReference,
            "add_long" => equivalence.Add_LongInputs_TabulatedPathMatchesReference,
            "pool" => equivalence.Pool_RandomMaxAndAverageCases_CMatchesReference,
            "average_pool_wide" => dsp.AveragePool_WideWindowsOnHost_MatchesReference,
            _ => throw new ArgumentException(kernel, nameof(kernel)),
        };
        Helium.Run(test);
    }

    [TestMethod]
    public void PointwiseConvolutionsOnTheM55MatchTheReference() =>
        Helium.Run(() => RunConvCases(new Random(5501), 120, "pointwise", random =>
        {
            // 1x1, input channels around and across multiples of 16, planes that leave 1-3 pixels of a block of four.
            var inC = random.Next(4) == 0 ? random.Next(1, 8) : random.Next(8, 90);
            return Conv(random, inC, random.Next(2, 14), random.Next(1, 8), random.Next(1, 8), 1, 1, random.Next(1, 3), random.Next(1, 3),
                padTop: random.Next(2) == 0 ? 0 : random.Next(0, 2), padLeft: random.Next(2) == 0 ? 0 : random.Next(0, 2), padBottom: 0, padRight: 0, 1, 1, groups: 1);
        }));

    [TestMethod]
    public void GeneralConvolutionsOnTheM55MatchTheReference() =>
        Helium.Run(() => RunConvCases(new Random(5502), 100, "general", random =>
        {
            // 3x3 and odd kernels through the gather table, with padding (the generic columns), strides, dilation, groups.
            var groups = random.Next(4) == 0 ? 2 : 1;
            var kh = random.Next(1, 6);
            var kw = random.Next(1, 6);
            return Conv(random, groups * random.Next(1, 12), groups * random.Next(1, 9), random.Next(kh, 14), random.Next(kw, 14), kh, kw,
                random.Next(1, 3), random.Next(1, 3), random.Next(0, 3), random.Next(0, 3), random.Next(0, 3), random.Next(0, 3),
                random.Next(4) == 0 ? 2 : 1, random.Next(4) == 0 ? 2 : 1, groups);
        }));

    [TestMethod]
    public void DepthwiseConvolutionsOnTheM55MatchTheReference() =>
        Helium.Run(() => RunConvCases(new Random(9503), 150, "depthwise", random =>
        {
            // One input channel per output channel: 3x3 (the unrolled taps), other kernels, strides, dilation, padding on
            // every side, and planes wider and taller than one band of the scratch (several bands per channel). Case
            // 131 of these 150 has a last band wholly in the bottom padding (9x12, kernel 1x3, stride 2x1: its one
            // output row reads only padding), which once made the band's padding fill write before the band.
            var large = random.Next(5) == 0;
            var kh = random.Next(4) == 0 ? random.Next(1, 6) : 3;
            var kw = random.Next(4) == 0 ? random.Next(1, 6) : 3;
            var channels = random.Next(1, 8);
            var inH = large ? random.Next(30, 48) : random.Next(kh, 16);
            var inW = large ? random.Next(30, 48) : random.Next(kw, 16);
            return Conv(random, channels, channels, inH, inW, kh, kw, random.Next(1, 3), random.Next(1, 3),
                random.Next(0, 3), random.Next(0, 3), random.Next(0, 3), random.Next(0, 3), random.Next(5) == 0 ? 2 : 1, random.Next(5) == 0 ? 2 : 1, channels);
        }));

    [TestMethod]
    public void FullyConnectedOnTheM55MatchesTheReference() =>
        Helium.Run(() =>
        {
            var random = new Random(5504);
            var harness = new CHarness();
            var expected = new List<sbyte[]>();
            for (var i = 0; i < 60; i++)
            {
                // Rows of every length mod 16, output counts of every length mod 4 (the vector requantization's tail).
                var inFeatures = i < 32 ? i + 1 : random.Next(1, 700);
                var op = FullyConnected(random, $"fc{i}", inFeatures, random.Next(1, 23));
                var input = RandomOps.Bytes(random, inFeatures);
                var output = new sbyte[op.Geometry.OutFeatures];
                Int8Kernels.FullyConnected(op, input, output);
                expected.Add(output);
                KernelCalls.FullyConnected(harness, op, input);
            }

            AssertSameBytes(expected, harness.Run(), "fully connected");
        });

    private void RunConvCases(Random random, int count, string what, Func<Random, QConv2D> make)
    {
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (var i = 0; i < count; i++)
        {
            var op = make(random);
            var input = RandomOps.Bytes(random, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW);
            var output = new sbyte[op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW];
            Int8Kernels.Conv2D(op, input, output);
            expected.Add(output);
            KernelCalls.Conv2D(harness, op, input);
        }

        AssertSameBytes(expected, harness.Run(), what);
        Assert.IsGreaterThan(count * 20, expected.Sum(e => e.Count(v => v != -128 && v != 127)), $"{what}: most outputs should be inside the clamp range");
    }

    private static QConv2D Conv(Random random, int inC, int outC, int inH, int inW, int kh, int kw, int sh, int sw,
        int padTop, int padLeft, int padBottom, int padRight, int dh, int dw, int groups)
    {
        // A window taller or wider than the padded input still gives one output row/column (the reference pads it).
        var spanH = Math.Max(inH + padTop + padBottom - (dh * (kh - 1) + 1), 0);
        var spanW = Math.Max(inW + padLeft + padRight - (dw * (kw - 1) + 1), 0);
        int outH = spanH / sh + 1, outW = spanW / sw + 1;
        var filterSize = inC / groups * kh * kw;
        var requant = Requantizations(random, outC, filterSize);
        var zpOut = random.Next(-128, 128);
        var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
        return new QConv2D
        {
            NodeName = $"conv{random.Next()}", Inputs = [0], Output = 1,
            Geometry = new(InC: inC, InH: inH, InW: inW, OutC: outC, OutH: outH, OutW: outW, KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadTop: padTop, PadLeft: padLeft, DilationH: dh, DilationW: dw, Groups: groups),
            Weights = RandomOps.Bytes(random, outC * filterSize, -127, 127),
            // Sometimes no bias at all (NULL in C: the kernels accept one).
            Bias = random.Next(8) == 0 ? new int[outC] : Enumerable.Range(0, outC).Select(_ => random.Next(-(1 << 16), 1 << 16)).ToArray(),
            OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(),
            OutputShift = requant.Select(r => r.Shift).ToArray(),
            InputZeroPoint = random.Next(-128, 128), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
        };
    }

    private static QFullyConnected FullyConnected(Random random, string name, int inFeatures, int outFeatures)
    {
        var requant = Requantizations(random, outFeatures, inFeatures);
        var zpOut = random.Next(-128, 128);
        var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
        return new QFullyConnected
        {
            NodeName = name, Inputs = [0], Output = 1, Geometry = new(inFeatures, outFeatures),
            Weights = RandomOps.Bytes(random, inFeatures * outFeatures, -127, 127),
            // Sometimes no bias at all (NULL in C: the kernels accept one).
            Bias = random.Next(8) == 0 ? new int[outFeatures] : Enumerable.Range(0, outFeatures).Select(_ => random.Next(-(1 << 16), 1 << 16)).ToArray(),
            OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(),
            OutputShift = requant.Select(r => r.Shift).ToArray(),
            InputZeroPoint = random.Next(-128, 128), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
        };
    }

    /// <summary>Per output channel: mostly a scale that maps sums of <paramref name="reduction"/> random products to
    /// some 40 output steps (the outputs then test the arithmetic, not the clamp), sometimes RandomOps' extremes
    /// (shifts from -31 to +8, the largest and smallest and negative multipliers).</summary>
    private static (int Multiplier, int Shift)[] Requantizations(Random random, int channels, int reduction) =>
        Enumerable.Range(0, channels).Select(_ => random.Next(5) == 0
            ? RandomOps.Requantization(random)
            : QuantizationMath.QuantizeMultiplier(40.0 / (Math.Sqrt(reduction) * 74 * 73) * (0.5 + random.NextDouble()))).ToArray();

    private void AssertSameBytes(List<sbyte[]> expected, List<long[]> actual, string kernel)
    {
        Assert.HasCount(expected.Count, actual);
        for (var i = 0; i < expected.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), actual[i], $"{kernel} case {i}: the M55 (Helium) and the C# reference differ");
        }

        TestContext.WriteLine($"{kernel}: {expected.Count} cases, {expected.Sum(e => e.Length)} output bytes identical on the Cortex-M55 (Helium) and in C#");
    }

    /// <summary>VMLADAVA (int8 dot product accumulated into a scalar) instructions in <paramref name="source"/> compiled for <paramref name="board"/>.</summary>
    private static int HeliumInstructions(Board board, string source, string[] mnemonics)
    {
        var dir = TestPaths.NewTempDir($"mve-code-{board.Name}");
        var obj = Path.Combine(dir, "k.o");
        var compile = ToolProcess.Run(board.ToolPrefix + "gcc",
        [
            .. board.ArchitectureFlags, .. board.CompileFlags, "-I" + Path.Combine(TestPaths.Kernels, "include"),
            "-c", Path.Combine(TestPaths.Kernels, "src", source), "-o", obj,
        ]);
        Assert.AreEqual(0, compile.ExitCode, string.Join("\n", compile.Lines));
        // objdump decodes MVE only when told the architecture (it prints coprocessor instructions otherwise).
        var dump = ToolProcess.Run(board.ToolPrefix + "objdump", ["-d", "-m", "armv8.1-m.main", obj]);
        Assert.AreEqual(0, dump.ExitCode, string.Join("\n", dump.Lines));
        // binutils prints VMLADAVA as its alias VMLAVA.
        return dump.Lines.Count(l => mnemonics.Any(m => l.Contains(m, StringComparison.Ordinal)));
    }
}
