using TinyML.Ir;
using TinyML.Optimize;

namespace TinyML.Tests.Optimize;

[TestClass]
public sealed class RemoveIdentityPassTests
{
    [TestMethod]
    public void FloatToFloatCastIsRemovedLikeAnIdentity()
    {
        var graph = new Graph();
        graph.Tensors["x"] = new Tensor("x", [1, 4]);
        graph.Tensors["c"] = new Tensor("c", [1, 4]);
        graph.Tensors["y"] = new Tensor("y", [1, 4]);
        graph.Inputs.Add("x");
        graph.Outputs.Add("y");
        var cast = new Node("cast", "Cast", ["x"], ["c"]);
        cast.Attributes["to"] = new AttributeValue { Int = 1 };
        graph.Nodes.Add(cast);
        graph.Nodes.Add(new Node("relu", "Relu", ["c"], ["y"]));

        Assert.AreEqual(1, new RemoveIdentityPass().Run(graph));
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "Cast"));
        CollectionAssert.AreEqual(new[] { "x" }, graph.Nodes.Single().Inputs);
    }

    [TestMethod]
    public void CastToAnotherTypeStays()
    {
        var graph = new Graph();
        graph.Tensors["x"] = new Tensor("x", [1, 4]);
        graph.Tensors["y"] = new Tensor("y", [1, 4], ElementType.Int64);
        graph.Inputs.Add("x");
        graph.Outputs.Add("y");
        var cast = new Node("cast", "Cast", ["x"], ["y"]);
        cast.Attributes["to"] = new AttributeValue { Int = 7 }; // INT64
        graph.Nodes.Add(cast);

        Assert.AreEqual(0, new RemoveIdentityPass().Run(graph));
        Assert.AreEqual("Cast", graph.Nodes.Single().OpType);
    }
}
