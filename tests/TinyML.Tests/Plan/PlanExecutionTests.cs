using TinyML.Emit;
using TinyML.Ir;
using TinyML.Lower;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.Plan;

/// <summary>
/// The plan must not change what the model computes: random graphs of real int8 ops (Add with random scales,
/// Clamp, Concat), reordered and planned with in-place reuse, Concat inputs written straight into their slice, kernel
/// scratch in the arena and 4- or 16-byte alignment, emitted as C and run on the host, give the same bytes as the
/// C# reference, which runs every tensor in its own buffer.
/// </summary>
[TestClass]
public sealed class PlanExecutionTests
{
    [TestMethod]
    public void EmittedCodeOfRandomPlannedGraphsMatchesTheReference()
    {
        var work = TestPaths.NewTempDir("plan-exec");
        var (inPlace, reordered, slices, copiedParts, scratchOps) = (0, 0, 0, 0, 0);
        const int Seeds = 24;
        for (var seed = 0; seed < Seeds; seed++)
        {
            var random = new Random(seed);
            var model = RandomPlanModel(random, out var size);
            var input = Enumerable.Range(0, size).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            var expected = Int8Interpreter.Run(model, input);

            // Every third graph is planned for a Helium-class board (16-byte arena alignment).
            var alignment = seed % 3 == 2 ? 16 : 4;
            reordered += ExecutionOrder.Optimize(model, alignment).Reordered ? 1 : 0;
            var plan = ArenaPlanner.Plan(model, alignment);
            inPlace += plan.InPlaceOps;
            slices += plan.Slices.Count;
            copiedParts += model.Ops.OfType<QGather>().Sum(g => g.Parts.Count(p => !plan.Slices.ContainsKey(p.Source!.Value)));
            scratchOps += plan.Buffers.Count(plan.IsScratch);
            Assert.IsTrue(model.Tensors.All(t => plan.OffsetOf(model, t.Id) % alignment == 0), $"seed {seed}: a tensor is not {alignment}-byte aligned");
            var code = CEmitter.Emit(model, plan, "rnd", $"random graph {seed}");
            var codeDir = Path.Combine(work, "code");
            Directory.CreateDirectory(codeDir);
            File.WriteAllText(Path.Combine(codeDir, code.HeaderFileName), code.Header);
            File.WriteAllText(Path.Combine(codeDir, code.SourceFileName), code.Source);

            // One work folder for all seeds: the kernels compile once, only the model and main change.
            var run = HarnessFirmware.Run(code, codeDir, [input], "host", TestPaths.Kernels, Path.Combine(work, "harness"));
            CollectionAssert.AreEqual(expected, run.Outputs[0],
                $"seed {seed}: planned C differs from the reference (arena {plan.ArenaBytes} B, {plan.InPlaceOps} in place, {plan.Slices.Count} Concat slices)");
        }

        Console.WriteLine($"{Seeds} random graphs: C == reference; {inPlace} ops ran in place, {slices} Concat inputs written in place " +
            $"({copiedParts} copied), {scratchOps} ops with arena scratch, {reordered} graphs reordered");
        Assert.IsTrue(inPlace > 0, "the random graphs should exercise in-place reuse");
        Assert.IsTrue(slices > 0 && copiedParts > 0, "the random graphs should exercise Concat slices and Concat copies (requantized inputs)");
        Assert.IsTrue(scratchOps > 0, "the random graphs should exercise kernel scratch (tabulated Add)");
    }

    /// <summary>
    /// A random int8 graph over 1-D tensors: Add (random scales; long ones use the tabulated kernel with arena
    /// scratch), Clamp (same parameters as its input) and Concat of 2-3 recent tensors, whose output takes one input's
    /// parameters (that input and any with the same parameters are copied byte for byte, the others requantized).
    /// </summary>
    internal static LoweredModel RandomPlanModel(Random random, out int size)
    {
        size = 4 * (random.Next(3) == 0 ? random.Next(128, 200) : random.Next(4, 40));
        var count = random.Next(5, 14);
        var model = new LoweredModel { Name = "rnd", Input = 0, Output = count - 1 };
        float Scale() => (float)(0.01 + random.NextDouble() * 0.2);
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "in", Shape = [size], Scale = Scale(), ZeroPoint = random.Next(-20, 20) });
        for (var i = 1; i < count; i++)
        {
            // Later tensors read recent ones more often, so some inputs die at their reader (in-place candidates).
            int Pick() => Math.Max(0, i - 1 - random.Next(Math.Min(i, 3)));
            var kind = random.Next(4);
            if (kind == 0)
            {
                var source = model.Tensors[Pick()];
                model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = [source.Bytes], Scale = source.Scale, ZeroPoint = source.ZeroPoint });
                var lo = random.Next(-128, 0);
                model.Ops.Add(new QClamp { NodeName = $"clamp{i}", Inputs = [source.Id], Output = i, Count = source.Bytes, Min = lo, Max = random.Next(lo, 128) });
            }
            else if (kind == 1)
            {
                var parts = Enumerable.Range(0, random.Next(2, 4)).Select(_ => model.Tensors[Pick()]).ToList();
                var like = parts[random.Next(parts.Count)];
                var total = parts.Sum(p => p.Bytes);
                var output = new LoweredTensor { Id = i, Name = $"t{i}", Shape = [total], Scale = like.Scale, ZeroPoint = like.ZeroPoint };
                model.Tensors.Add(output);
                var gatherParts = new List<QGatherPart>();
                var position = 0;
                foreach (var part in parts)
                {
                    var same = part.Scale == output.Scale && part.ZeroPoint == output.ZeroPoint;
                    var (multiplier, shift) = same ? (0, 0) : QuantizationMath.QuantizeMultiplier((double)part.Scale / output.Scale);
                    gatherParts.Add(new QGatherPart(part.Id, null, GatherPlan.Region([part.Bytes], [1], position),
                        same || multiplier != 0 ? multiplier : 1, same || multiplier != 0 ? shift : -31, part.ZeroPoint, output.ZeroPoint));
                    position += part.Bytes;
                }

                model.Ops.Add(new QGather { NodeName = $"concat{i}", Inputs = parts.Select(p => p.Id).Distinct().ToArray(), Output = i, Parts = gatherParts });
            }
            else
            {
                var a = model.Tensors[Pick()];
                var b = model.Tensors[Pick()];
                b = b.Bytes == a.Bytes ? b : a;
                var output = new LoweredTensor { Id = i, Name = $"t{i}", Shape = [a.Bytes], Scale = Scale(), ZeroPoint = random.Next(-20, 20) };
                model.Tensors.Add(output);
                var p = QuantizationMath.PrepareAdd(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, output.Scale, output.ZeroPoint);
                model.Ops.Add(new QAdd
                {
                    NodeName = $"add{i}", Inputs = [a.Id, b.Id], Output = i, Count = a.Bytes,
                    Input1 = new(a.ZeroPoint, p.Input1Multiplier, p.Input1Shift), Input2 = new(b.ZeroPoint, p.Input2Multiplier, p.Input2Shift),
                    LeftShift = p.LeftShift, OutputRequantization = new(p.OutputMultiplier, p.OutputShift), OutputZeroPoint = output.ZeroPoint,
                    Activation = new(-128, 127),
                });
            }
        }

        return model;
    }
}
