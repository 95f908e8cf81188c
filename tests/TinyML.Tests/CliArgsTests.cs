using TinyML.Cli;

namespace TinyML.Tests;

[TestClass]
public sealed class CliArgsTests
{
    [TestMethod]
    public void ParsesOptionsFlagsAndRepeats()
    {
        var args = new CliArgs(["--model", "a.onnx", "--source", "x.c", "--source=y.c", "--verbose"]);
        Assert.AreEqual("a.onnx", args.Get("model"));
        CollectionAssert.AreEqual(new[] { "x.c", "y.c" }, args.GetAll("source").ToArray());
        Assert.IsTrue(args.GetBool("verbose"));
        Assert.IsNull(args.Get("missing"));
    }
}
