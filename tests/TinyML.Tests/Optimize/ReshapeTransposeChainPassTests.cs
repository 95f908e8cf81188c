using TinyML.Ir;
using TinyML.Optimize;
using TinyML.Reference;

namespace TinyML.Tests.Optimize;

/// <summary>
/// Reshape/Transpose chain elimination: each rewrite is checked for its shape (what is left of the chain) and for
/// its meaning (the float reference gives the very same output before and after).
/// </summary>
[TestClass]
public sealed class ReshapeTransposeChainPassTests
{
    /// <summary>x (the given shape) -> the nodes -> Relu -> y; shapes inferred.</summary>
    private static Graph Chain(int[] inputShape, params Node[] nodes) => Chain(inputShape, _ => { }, nodes);

    /// <summary>As above, with int64 shape operands added first.</summary>
    private static Graph Chain(int[] inputShape, Action<Graph> constants, params Node[] nodes)
    {
        var graph = new Graph { OpsetVersion = 13 };
        constants(graph);
        graph.Tensors["x"] = new Tensor("x", inputShape);
        graph.Inputs.Add("x");
        graph.Nodes.AddRange(nodes);
        graph.Nodes.Add(new Node("relu", "Relu", [nodes[^1].Outputs[0]], ["y"]));
        graph.Outputs.Add("y");
        ShapeInference.Run(graph);
        return graph;
    }

    private static Node Transpose(string name, string input, params long[] perm)
    {
        var node = new Node(name, "Transpose", [input], [name]);
        node.Attributes["perm"] = new AttributeValue { Ints = perm };
        return node;
    }

    private static void AddInts(Graph graph, string name, params long[] values) =>
        graph.Tensors[name] = new Tensor(name, [values.Length], ElementType.Int64) { IntData = values };

    private static float[] Input(Graph graph)
    {
        var count = graph.Tensor("x").ElementCount;
        return Enumerable.Range(0, count).Select(i => (float)Math.Sin(i * 0.7) * 3).ToArray();
    }

    /// <summary>Runs the pass and checks the output is unchanged; returns the rewrite count.</summary>
    private static int RunPreservingOutput(Graph graph)
    {
        var input = Input(graph);
        var before = FloatInterpreter.Run(graph, input);
        var rewrites = new ReshapeTransposeChainPass().Run(graph);
        ShapeInference.Run(graph);
        var after = FloatInterpreter.Run(graph, input);
        CollectionAssert.AreEqual(before.Shape, after.Shape, "output shape");
        CollectionAssert.AreEqual(before.Data, after.Data, "output values");
        return rewrites;
    }

    [TestMethod]
    public void TransposeOfTransposeComposesIntoOnePermutation()
    {
        var graph = Chain([2, 3, 4], Transpose("t1", "x", 0, 2, 1), Transpose("t2", "t1", 1, 0, 2));

        Assert.AreEqual(1, RunPreservingOutput(graph));
        var left = graph.Nodes.Single(n => n.OpType == "Transpose");
        CollectionAssert.AreEqual(new long[] { 2, 0, 1 }, left.GetInts("perm"));
        CollectionAssert.AreEqual(new[] { "x" }, left.Inputs);
    }

    [TestMethod]
    public void InversePermutationsCancel()
    {
        var graph = Chain([2, 3, 4], Transpose("t1", "x", 1, 2, 0), Transpose("t2", "t1", 2, 0, 1));

        Assert.AreEqual(2, RunPreservingOutput(graph));
        Assert.AreEqual("Relu", graph.Nodes.Single().OpType);
        CollectionAssert.AreEqual(new[] { "x" }, graph.Nodes.Single().Inputs);
    }

    [TestMethod]
    public void TransposeKeepingTheOrderOfNonUnitAxesBecomesAReshape()
    {
        // [1,4,1,5] -> [1,1,4,5]: only a unit axis moves, no byte does.
        var graph = Chain([1, 4, 1, 5], Transpose("t", "x", 0, 2, 1, 3));

        Assert.AreEqual(1, RunPreservingOutput(graph));
        var reshape = graph.Nodes.Single(n => n.OpType != "Relu");
        Assert.AreEqual("Reshape", reshape.OpType);
        CollectionAssert.AreEqual(new long[] { 1, 1, 4, 5 }, graph.Tensor(reshape.Inputs[1]).IntData);
    }

    [TestMethod]
    public void ARealShuffleStaysATranspose()
    {
        var graph = Chain([1, 4, 5], Transpose("t", "x", 0, 2, 1));

        Assert.AreEqual(0, RunPreservingOutput(graph));
        Assert.AreEqual("Transpose", graph.Nodes[0].OpType);
    }

    [TestMethod]
    public void ConsecutiveReshapesMergeIntoOne()
    {
        var flatten = new Node("flat", "Flatten", ["x"], ["flat"]);
        flatten.Attributes["axis"] = new AttributeValue { Int = 1 };
        var chain = Chain([2, 3, 4], g => { AddInts(g, "axes", 0); AddInts(g, "target", 4, 6); },
            flatten, new Node("unsq", "Unsqueeze", ["flat", "axes"], ["unsq"]), new Node("r", "Reshape", ["unsq", "target"], ["r"]));
        Assert.AreEqual(2, RunPreservingOutput(chain));
        var reshape = chain.Nodes.Single(n => n.OpType != "Relu");
        Assert.AreEqual("Reshape", reshape.OpType);
        CollectionAssert.AreEqual(new[] { "x", reshape.Inputs[1] }, reshape.Inputs);
        CollectionAssert.AreEqual(new long[] { 4, 6 }, chain.Tensor(reshape.Inputs[1]).IntData);
        Assert.IsFalse(chain.Tensors.ContainsKey("axes"), "dead shape operands are dropped");
    }

    [TestMethod]
    public void TransposeThatBecomesAReshapeMergesWithTheNextReshape()
    {
        var graph = Chain([1, 4, 1, 5], Transpose("t", "x", 0, 2, 1, 3));
        AddInts(graph, "target", 20);
        graph.Nodes.Insert(1, new Node("r", "Reshape", ["t", "target"], ["r"]));
        graph.Nodes[2].Inputs[0] = "r";
        ShapeInference.Run(graph);

        Assert.AreEqual(2, RunPreservingOutput(graph));
        var reshape = graph.Nodes.Single(n => n.OpType != "Relu");
        CollectionAssert.AreEqual(new long[] { 20 }, graph.Tensor(reshape.Inputs[1]).IntData);
        Assert.AreEqual("x", reshape.Inputs[0]);
    }

    [TestMethod]
    public void ReshapeToTheSameShapeIsRemoved()
    {
        var graph = Chain([2, 6], g => AddInts(g, "same", 2, 6), new Node("r", "Reshape", ["x", "same"], ["r"]));

        Assert.AreEqual(1, RunPreservingOutput(graph));
        Assert.AreEqual("Relu", graph.Nodes.Single().OpType);
    }

    [TestMethod]
    public void AnIntermediateOthersReadIsNotMergedAway()
    {
        // t1 feeds both t2 and a second graph output: composing would lose it.
        var graph = Chain([2, 3, 4], Transpose("t1", "x", 0, 2, 1), Transpose("t2", "t1", 0, 2, 1));
        graph.Nodes.Add(new Node("side", "Relu", ["t1"], ["side"]));
        graph.Outputs.Add("side");
        ShapeInference.Run(graph);

        var rewrites = new ReshapeTransposeChainPass().Run(graph);

        // t2 composed with t1 would be the identity, but t1 must stay for "side": nothing merges.
        Assert.AreEqual(0, rewrites);
        Assert.AreEqual(2, graph.Nodes.Count(n => n.OpType == "Transpose"));
    }

    [TestMethod]
    public void ATransposeThatIsAGraphOutputKeepsItsName()
    {
        var graph = new Graph { OpsetVersion = 13 };
        graph.Tensors["x"] = new Tensor("x", [3, 4]);
        graph.Inputs.Add("x");
        graph.Nodes.Add(new Node("relu", "Relu", ["x"], ["r"]));
        graph.Nodes.Add(Transpose("y", "r", 0, 1));
        graph.Outputs.Add("y");
        ShapeInference.Run(graph);

        Assert.AreEqual(1, RunPreservingOutput(graph));
        CollectionAssert.AreEqual(new[] { "y" }, graph.Nodes.Single().Outputs);
    }
}
