using TinyML.Pipeline;
using TinyML.Verify;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The per-op profile counts instructions as the board's counter runs under its emulator, including counters whose tick
/// is not a whole number of instructions: the RP2040's QEMU image counts the nRF51's TIMER0 at 16 MHz, 62.5
/// instructions per tick under <c>-icount shift=0</c> (a profile that took 125 per tick reported every op twice over).
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class ProfileRunnerTests
{
    [TestMethod]
    [DataRow("rp2040", 125, 2)]
    [DataRow("nrf52840", 40, 1)]
    public void Profile_counts_instructions_at_the_boards_tick_rate(string board, int instructions, int perTicks)
    {
        ChipImageTests.RequireArm();
        var work = TestPaths.NewTempDir("profile-" + board);
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(demo, "digits.onnx"), Name = "digits", OutputDirectory = Path.Combine(work, "code"), CalibrationData = Path.Combine(demo, "calib"), Board = board,
        }, TextWriter.Null);
        var input = EndToEnd.MixedPrecisionTests.DigitsInputs(compiled.Model, 1)[0];

        var profile = ProfileRunner.Run(compiled.Model, compiled.Plan, "digits", input, board, TestPaths.Kernels, Path.Combine(work, "profile"), TextWriter.Null);
        var plain = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), [input], board, TestPaths.Kernels, Path.Combine(work, "harness"));

        Assert.IsTrue(profile.MatchesReference);
        Assert.AreEqual("instruction", profile.Unit);
        Assert.AreEqual(plain.TicksFirstInference * instructions / perTicks, profile.UnprofiledTotal, "the whole invoke, counted as the bench counts it");
        // The profiled build reads the counter after every op: a little more than the plain invoke, never half or twice.
        Assert.IsTrue(profile.ProfiledTotal >= profile.UnprofiledTotal && profile.ProfiledTotal < profile.UnprofiledTotal * 1.1,
            $"profiled {profile.ProfiledTotal} vs plain {profile.UnprofiledTotal}");
        Assert.IsTrue(profile.OpTotal <= profile.ProfiledTotal && profile.OpTotal > profile.ProfiledTotal * 0.9,
            $"ops {profile.OpTotal} of {profile.ProfiledTotal}");
    }
}
