using TinyML.Diagnostics;
using TinyML.Emit;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Reference;

namespace TinyML.Tests.Plan;

/// <summary>
/// KernelPolicy: the specialized Cortex-M DSP kernels plan scratch into the arena. speed (the default) keeps them and
/// says what they cost; ram puts back on the generic kernels exactly the ops whose scratch raises the arena.
/// </summary>
[TestClass]
public sealed class KernelPolicyTests
{
    private static CompileResult CompileDemo(KernelPolicy policy, TextWriter log, string board = "nrf52840")
    {
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        return ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(demo, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(demo, "calib"), Board = board, KernelPolicy = policy,
        }, log);
    }

    [TestMethod]
    public void Ram_keeps_the_generic_kernels_arena_where_speed_says_what_its_kernels_cost()
    {
        var speedLog = new StringWriter();
        var speed = CompileDemo(KernelPolicy.Speed, speedLog);
        var ramLog = new StringWriter();
        var ram = CompileDemo(KernelPolicy.Ram, ramLog);
        var portable = CompileDemo(KernelPolicy.Speed, TextWriter.Null, board: "rp2040");

        Assert.IsLessThan(speed.Plan.ArenaBytes, ram.Plan.ArenaBytes, "ram plans a smaller arena than speed for the demo");
        Assert.AreEqual(portable.Plan.ArenaBytes, ram.Plan.ArenaBytes, "ram: the generic kernels' arena");
        Assert.IsTrue(ram.Model.AllOps.Any(op => op.Kernel != Int8Kernel.Generic), "ram keeps the specialized kernels that do not raise the arena");
        Assert.IsGreaterThan(ram.Model.AllOps.Count(op => op.Kernel != Int8Kernel.Generic), speed.Model.AllOps.Count(op => op.Kernel != Int8Kernel.Generic));
        StringAssert.Contains(speedLog.ToString(), $"the specialized kernels' scratch takes the arena from {ram.Plan.ArenaBytes:N0} B to {speed.Plan.ArenaBytes:N0} B");
        StringAssert.Contains(ramLog.ToString(), $"keep the arena at {ram.Plan.ArenaBytes:N0} B");

        // Either way the same numbers: the kernels differ, the arithmetic does not.
        var input = EndToEnd.MixedPrecisionTests.DigitsInputs(speed.Model, 3);
        foreach (var sample in input)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(speed.Model, sample), Int8Interpreter.Run(ram.Model, sample));
        }
    }

    [TestMethod]
    public void An_unknown_policy_is_TML3003()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => KernelChoice.ParsePolicy("fast"));
        Assert.AreEqual(ErrorCodes.InvalidKernelPolicy, error.Code);
        StringAssert.Contains(error.Message, "speed, ram");
        Assert.AreEqual(KernelPolicy.Speed, KernelChoice.ParsePolicy(null));
        Assert.AreEqual(KernelPolicy.Ram, KernelChoice.ParsePolicy(" RAM "));
    }
}
