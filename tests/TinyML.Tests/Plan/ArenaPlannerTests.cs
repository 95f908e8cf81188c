using TinyML.Ir;
using TinyML.Plan;

namespace TinyML.Tests.Plan;

[TestClass]
public sealed class ArenaPlannerTests
{
    [TestMethod]
    public void ChainReusesMemoryAndReachesTheLowerBound()
    {
        // in(100) -> a(50) -> b(100) -> out(10): at most two neighbours are live at once.
        var model = Chain(100, 50, 100, 10);
        var plan = ArenaPlanner.Plan(model);
        Assert.AreEqual(152, plan.LowerBound, "in+a live at op 0, a+b at op 1: 100 + 52 (a padded to 4 bytes)");
        Assert.AreEqual(plan.LowerBound, plan.ArenaBytes);
        Assert.AreEqual(100 + 52 + 100 + 12, plan.NaiveBytes);
    }

    [TestMethod]
    public void ReshapeAliasesItsInput()
    {
        var model = Chain(64, 32);
        model.Tensors.Add(new LoweredTensor { Id = 2, Name = "flat", Shape = [32], Scale = 1, ZeroPoint = 0, AliasOf = 1 });
        model.Ops.Add(new QReshape { NodeName = "reshape", Inputs = [1], Output = 2 });
        model.Output = 2;
        var plan = ArenaPlanner.Plan(model);
        Assert.AreEqual(plan.OffsetOf(model, 1), plan.OffsetOf(model, 2));
        Assert.AreEqual(2, plan.Buffers.Count, "the alias has no buffer of its own");
    }

    /// <summary>Property test over random DAGs (fixed seeds): live buffers never overlap and arena >= bound.</summary>
    [TestMethod]
    public void RandomGraphsNeverOverlapLiveBuffers()
    {
        var worstRatio = 1.0;
        for (var seed = 0; seed < 2000; seed++)
        {
            var random = new Random(seed);
            var model = RandomDag(random);
            var plan = ArenaPlanner.Plan(model);
            Assert.IsTrue(plan.ArenaBytes >= plan.LowerBound, $"seed {seed}: arena below the lower bound");
            Assert.IsTrue(plan.ArenaBytes <= plan.NaiveBytes, $"seed {seed}: arena above no-reuse size");
            foreach (var a in plan.Buffers)
            {
                Assert.AreEqual(0, a.Offset % plan.Alignment, $"seed {seed}: misaligned buffer");
                foreach (var b in plan.Buffers.Where(b => b.TensorId > a.TensorId))
                {
                    var live = a.FirstOp <= b.LastOp && b.FirstOp <= a.LastOp;
                    var overlap = a.Offset < b.Offset + b.Bytes && b.Offset < a.Offset + a.Bytes;
                    Assert.IsFalse(live && overlap, $"seed {seed}: tensors {a.TensorId} and {b.TensorId} overlap while both live");
                }
            }

            worstRatio = Math.Max(worstRatio, (double)plan.ArenaBytes / plan.LowerBound);
        }

        Console.WriteLine($"2000 random DAGs: worst arena / lower bound = {worstRatio:0.000}");
    }

    /// <summary>Per-board alignment (16 for Helium): every buffer and every tensor, Concat slices included, starts at a
    /// multiple of it, and no two live buffers overlap.</summary>
    [TestMethod]
    public void SixteenByteAlignmentKeepsEveryOffsetAlignedAndLiveBuffersApart()
    {
        var slices = 0;
        for (var seed = 0; seed < 400; seed++)
        {
            var model = PlanExecutionTests.RandomPlanModel(new Random(seed), out _);
            ExecutionOrder.Optimize(model, 16);
            var plan = ArenaPlanner.Plan(model, 16);
            Assert.AreEqual(16, plan.Alignment);
            Assert.AreEqual(0, plan.ArenaBytes % 16, $"seed {seed}: arena size");
            slices += plan.Slices.Count;
            foreach (var tensor in model.Tensors)
            {
                Assert.AreEqual(0, plan.OffsetOf(model, tensor.Id) % 16, $"seed {seed}: tensor {tensor.Id} at {plan.OffsetOf(model, tensor.Id)}");
            }

            foreach (var a in plan.Buffers)
            {
                Assert.AreEqual(0, a.Offset % 16, $"seed {seed}: buffer {a.TensorId}");
                Assert.AreEqual(0, a.Bytes % 16, $"seed {seed}: buffer {a.TensorId} size");
                foreach (var b in plan.Buffers.Where(b => b.TensorId > a.TensorId))
                {
                    var live = a.FirstOp <= b.LastOp && b.FirstOp <= a.LastOp;
                    var overlap = a.Offset < b.Offset + b.Bytes && b.Offset < a.Offset + a.Bytes;
                    Assert.IsFalse(live && overlap, $"seed {seed}: buffers {a.TensorId} and {b.TensorId} overlap while both live");
                }
            }
        }

        Assert.IsTrue(slices > 0, "some Concat inputs should still be written in place at 16-byte offsets");
    }

    [TestMethod]
    public void BoardsDeclareTheirArenaAlignment()
    {
        Assert.AreEqual(4, TinyML.Firmware.Boards.Nrf52840.ArenaAlignment);
        Assert.AreEqual(4, TinyML.Firmware.Boards.Host.ArenaAlignment);
        Assert.AreEqual(4, TinyML.Firmware.Boards.ArenaAlignmentOf("no-such-board"));
    }

    private static LoweredModel Chain(params int[] sizes)
    {
        var model = new LoweredModel { Name = "chain", Input = 0, Output = sizes.Length - 1 };
        for (var i = 0; i < sizes.Length; i++)
        {
            model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = [sizes[i]], Scale = 1, ZeroPoint = 0 });
            if (i > 0)
            {
                model.Ops.Add(new QClamp { NodeName = $"op{i}", Inputs = [i - 1], Output = i, Count = sizes[i], Min = -128, Max = 127 });
            }
        }

        return model;
    }

    private static LoweredModel RandomDag(Random random)
    {
        var count = random.Next(2, 14);
        var model = new LoweredModel { Name = "dag", Input = 0, Output = count - 1 };
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "in", Shape = [random.Next(1, 300)], Scale = 1, ZeroPoint = 0 });
        for (var i = 1; i < count; i++)
        {
            model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = [random.Next(1, 300)], Scale = 1, ZeroPoint = 0 });
            var inputs = random.Next(2) == 0 ? new[] { random.Next(i) } : [random.Next(i), random.Next(i)];
            model.Ops.Add(new QAdd
            {
                NodeName = $"op{i}", Inputs = inputs, Output = i, Count = 1,
                Input1 = new(0, 0, 0), Input2 = new(0, 0, 0),
                LeftShift = 20, OutputRequantization = new(0, 0), OutputZeroPoint = 0, Activation = new(-128, 127),
            });
        }

        return model;
    }
}

[TestClass]
public sealed class MemoryTimelineSvgTests
{
    [TestMethod]
    public void DrawsOneBoxPerBufferAndTheLowerBound()
    {
        var model = new LoweredModel { Name = "m<&>", Input = 0, Output = 1 };
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "in", Shape = [64], Scale = 1, ZeroPoint = 0 });
        model.Tensors.Add(new LoweredTensor { Id = 1, Name = "out", Shape = [32], Scale = 1, ZeroPoint = 0 });
        model.Ops.Add(new QClamp { NodeName = "relu", Inputs = [0], Output = 1, Count = 32, Min = 0, Max = 127 });
        var plan = ArenaPlanner.Plan(model);

        var svg = MemoryTimelineSvg.Render(model, plan);

        var doc = System.Xml.Linq.XDocument.Parse(svg); // well-formed, names escaped
        var ns = (System.Xml.Linq.XNamespace)"http://www.w3.org/2000/svg";
        Assert.AreEqual(1 + plan.Buffers.Count, doc.Descendants(ns + "rect").Count(), "background + one box per buffer");
        Assert.AreEqual(1, doc.Descendants(ns + "line").Count(), "the lower-bound line");
        Assert.AreEqual(svg, MemoryTimelineSvg.Render(model, plan), "deterministic");
    }
}

[TestClass]
public sealed class InPlacePlanningTests
{
    [TestMethod]
    public void ClampOverwritesAnInputThatDiesThere()
    {
        // in(64) -> clamp -> t1(64) -> clamp -> t2(64): one buffer serves all three.
        var model = new LoweredModel { Name = "inplace", Input = 0, Output = 2 };
        for (var i = 0; i < 3; i++)
        {
            model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = [64], Scale = 1, ZeroPoint = 0 });
        }

        model.Ops.Add(new QClamp { NodeName = "a", Inputs = [0], Output = 1, Count = 64, Min = -128, Max = 127 });
        model.Ops.Add(new QClamp { NodeName = "b", Inputs = [1], Output = 2, Count = 64, Min = 0, Max = 127 });
        var plan = ArenaPlanner.Plan(model);
        Assert.AreEqual(64, plan.ArenaBytes);
        Assert.AreEqual(2, plan.InPlaceOps);
        Assert.AreEqual(plan.OffsetOf(model, 0), plan.OffsetOf(model, 2));
    }

    [TestMethod]
    public void AnInputStillNeededLaterIsNotOverwritten()
    {
        // in -> clamp -> t1; add(in, t1) -> t2: the clamp must not overwrite `in`, which the add still reads.
        var model = new LoweredModel { Name = "keep", Input = 0, Output = 2 };
        for (var i = 0; i < 3; i++)
        {
            model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = [16], Scale = 1, ZeroPoint = 0 });
        }

        model.Ops.Add(new QClamp { NodeName = "clamp", Inputs = [0], Output = 1, Count = 16, Min = 0, Max = 127 });
        model.Ops.Add(new QAdd
        {
            NodeName = "add", Inputs = [0, 1], Output = 2, Count = 16,
            Input1 = new(0, 0, 0), Input2 = new(0, 0, 0),
            LeftShift = 20, OutputRequantization = new(0, 0), OutputZeroPoint = 0, Activation = new(-128, 127),
        });
        var plan = ArenaPlanner.Plan(model);
        Assert.AreNotEqual(plan.OffsetOf(model, 0), plan.OffsetOf(model, 1), "the clamp output must not overwrite a live input");
        Assert.AreEqual(1, plan.InPlaceOps, "the add may overwrite one of its dying inputs");
        Assert.AreEqual(32, plan.ArenaBytes);
    }
}

[TestClass]
public sealed class ExecutionOrderTests
{
    /// <summary>in -> a1(1000) -> a2(16); in -> b1(1000) -> b2(16); add(a2, b2), given in the bad order a1, b1, a2, b2.</summary>
    private static LoweredModel TwoTowers()
    {
        var model = new LoweredModel { Name = "towers", Input = 0, Output = 5 };
        int[] sizes = [16, 1000, 1000, 16, 16, 16];
        for (var i = 0; i < sizes.Length; i++)
        {
            model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = [sizes[i]], Scale = 1, ZeroPoint = 0 });
        }

        LoweredOp Pool(string name, int input, int output) => new QPool
        {
            NodeName = name, Inputs = [input], Output = output, Kind = PoolKind.Max, InputPlanes = new(1, 1, 1),
            Geometry = new WindowGeometry(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1), Activation = new(-128, 127),
        };
        model.Ops.Add(Pool("a1", 0, 1));
        model.Ops.Add(Pool("b1", 0, 2));
        model.Ops.Add(Pool("a2", 1, 3));
        model.Ops.Add(Pool("b2", 2, 4));
        model.Ops.Add(new QAdd
        {
            NodeName = "add", Inputs = [3, 4], Output = 5, Count = 16,
            Input1 = new(0, 0, 0), Input2 = new(0, 0, 0),
            LeftShift = 20, OutputRequantization = new(0, 0), OutputZeroPoint = 0, Activation = new(-128, 127),
        });
        return model;
    }

    [TestMethod]
    public void RunsOneTowerToTheEndBeforeStartingTheOther()
    {
        var model = TwoTowers();
        var before = ArenaPlanner.Plan(model).ArenaBytes;
        var outcome = ExecutionOrder.Optimize(model);
        var after = ArenaPlanner.Plan(model).ArenaBytes;

        Assert.IsTrue(outcome.Reordered);
        Assert.AreEqual(before, outcome.OriginalArenaBytes);
        Assert.AreEqual(after, outcome.ChosenArenaBytes);
        Assert.IsTrue(after < before - 900, $"arena {before} -> {after}: both 1000-byte tensors should no longer be live together");
        // Still a valid topological order: every op's inputs are produced before it runs.
        var produced = new HashSet<int> { model.Input };
        foreach (var op in model.Ops)
        {
            Assert.IsTrue(op.Inputs.All(produced.Contains), $"{op.NodeName} runs before its inputs exist");
            produced.Add(op.Output);
        }
    }

    [TestMethod]
    public void NeverWorseThanTheGivenOrderOnRandomGraphs()
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var model = RandomDagFactory.Create(new Random(seed));
            var before = ArenaPlanner.Plan(model).ArenaBytes;
            var outcome = ExecutionOrder.Optimize(model);
            Assert.IsTrue(outcome.ChosenArenaBytes <= before, $"seed {seed}");
            Assert.AreEqual(outcome.ChosenArenaBytes, ArenaPlanner.Plan(model).ArenaBytes, $"seed {seed}");
        }
    }
}

internal static class RandomDagFactory
{
    public static LoweredModel Create(Random random)
    {
        var count = random.Next(2, 14);
        var model = new LoweredModel { Name = "dag", Input = 0, Output = count - 1 };
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "in", Shape = [random.Next(1, 300)], Scale = 1, ZeroPoint = 0 });
        for (var i = 1; i < count; i++)
        {
            model.Tensors.Add(new LoweredTensor { Id = i, Name = $"t{i}", Shape = [random.Next(1, 300)], Scale = 1, ZeroPoint = 0 });
            var inputs = random.Next(2) == 0 ? new[] { random.Next(i) } : [random.Next(i), random.Next(i)];
            model.Ops.Add(new QAdd
            {
                NodeName = $"op{i}", Inputs = inputs, Output = i, Count = 1,
                Input1 = new(0, 0, 0), Input2 = new(0, 0, 0),
                LeftShift = 20, OutputRequantization = new(0, 0), OutputZeroPoint = 0, Activation = new(-128, 127),
            });
        }

        return model;
    }
}
