using TinyML.Emit;
using TinyML.Ir;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.Plan;

/// <summary>
/// The plan must not change what the model computes: random graphs of real element-wise int8 ops (Add with
/// random scales, Clamp), reordered and planned with in-place reuse, emitted as C and run on the host, give the
/// same bytes as the C# reference, which runs every tensor in its own buffer.
/// </summary>
[TestClass]
public sealed class PlanExecutionTests
{
    [TestMethod]
    public void EmittedCodeOfRandomPlannedGraphsMatchesTheReference()
    {
        var work = TestPaths.NewTempDir("plan-exec");
        var inPlace = 0;
        var reordered = 0;
        for (var seed = 0; seed < 12; seed++)
        {
            var random = new Random(seed);
            var model = RandomElementwiseModel(random, out var size);
            var input = Enumerable.Range(0, size).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            var expected = Int8Interpreter.Run(model, input);

            reordered += ExecutionOrder.Optimize(model).Reordered ? 1 : 0;
            var plan = ArenaPlanner.Plan(model);
            inPlace += plan.InPlaceOps;
            var code = CEmitter.Emit(model, plan, "rnd", $"random graph {seed}");
            var codeDir = Path.Combine(work, "code");
            Directory.CreateDirectory(codeDir);
            File.WriteAllText(Path.Combine(codeDir, code.HeaderFileName), code.Header);
            File.WriteAllText(Path.Combine(codeDir, code.SourceFileName), code.Source);

            // One work folder for all seeds: the kernels compile once, only the model and main change.
            var run = HarnessFirmware.Run(code, codeDir, [input], "host", TestPaths.Kernels, Path.Combine(work, "harness"));
            CollectionAssert.AreEqual(expected, run.Outputs[0], $"seed {seed}: planned C differs from the reference (arena {plan.ArenaBytes} B, {plan.InPlaceOps} in place)");
        }

        Console.WriteLine($"12 random graphs: C == reference; {inPlace} ops ran in place, {reordered} graphs reordered");
        Assert.IsTrue(inPlace > 0, "the random graphs should exercise in-place reuse");
    }

    private static QuantizedModel RandomElementwiseModel(Random random, out int size)
    {
        size = 4 * random.Next(4, 40);
        var count = random.Next(4, 12);
        var model = new QuantizedModel { Name = "rnd", Input = 0, Output = count - 1 };
        float Scale() => (float)(0.01 + random.NextDouble() * 0.2);
        model.Tensors.Add(new QTensor { Id = 0, Name = "in", Shape = [size], Scale = Scale(), ZeroPoint = random.Next(-20, 20) });
        for (var i = 1; i < count; i++)
        {
            // Later tensors read recent ones more often, so some inputs die at their reader (in-place candidates).
            int Pick() => Math.Max(0, i - 1 - random.Next(Math.Min(i, 3)));
            if (random.Next(3) == 0)
            {
                var source = model.Tensors[Pick()];
                model.Tensors.Add(new QTensor { Id = i, Name = $"t{i}", Shape = [size], Scale = source.Scale, ZeroPoint = source.ZeroPoint });
                var lo = random.Next(-128, 0);
                model.Ops.Add(new QClamp { NodeName = $"clamp{i}", Inputs = [source.Id], Output = i, Count = size, Min = lo, Max = random.Next(lo, 128) });
            }
            else
            {
                var a = model.Tensors[Pick()];
                var b = model.Tensors[Pick()];
                var output = new QTensor { Id = i, Name = $"t{i}", Shape = [size], Scale = Scale(), ZeroPoint = random.Next(-20, 20) };
                model.Tensors.Add(output);
                var p = QuantizationMath.PrepareAdd(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, output.Scale, output.ZeroPoint);
                model.Ops.Add(new QAdd
                {
                    NodeName = $"add{i}", Inputs = [a.Id, b.Id], Output = i, Count = size,
                    Input1ZeroPoint = a.ZeroPoint, Input2ZeroPoint = b.ZeroPoint,
                    Input1Multiplier = p.Input1Multiplier, Input1Shift = p.Input1Shift, Input2Multiplier = p.Input2Multiplier, Input2Shift = p.Input2Shift,
                    LeftShift = p.LeftShift, OutputMultiplier = p.OutputMultiplier, OutputShift = p.OutputShift, OutputZeroPoint = output.ZeroPoint,
                    ActivationMin = -128, ActivationMax = 127,
                });
            }
        }

        return model;
    }
}
