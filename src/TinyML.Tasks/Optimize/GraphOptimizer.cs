namespace TinyML.Optimize;

/// <summary>
/// Runs the rewrite passes in a fixed order, then shape inference. Returns what each pass did, for the build log.
/// Constant folding goes first: it removes the shape plumbing and resolved control flow the other passes do not
/// understand. Shape inference stops at the first op it has no rule for; the lowering then names that op (TML1002).
/// </summary>
public static class GraphOptimizer
{
    public static IReadOnlyList<IGraphPass> DefaultPasses { get; } =
    [
        new ConstantFoldingPass(),
        new RemoveIdentityPass(),
        new ReshapeTransposeChainPass(),
        new MatMulAddToGemmPass(),
        new LayerNormFusionPass(),
        new GeluFusionPass(),
        new PowRewritePass(),
        new FoldBatchNormPass(),
        new FuseActivationPass(),
        new FoldPadPass(foldIntoAveragePool: false),
    ];

    /// <summary>
    /// The float32 path (<c>Quantize="none"</c>): the same rewrites, except that a BatchNormalization which does not
    /// follow a Conv/Gemm stays in the graph (the float path has a kernel for it; int8 has none), and a zero Pad also
    /// folds into an AveragePool (as count_include_pad = 1, which only the float32 pool implements).
    /// </summary>
    public static IReadOnlyList<IGraphPass> FloatPasses { get; } =
    [
        new ConstantFoldingPass(),
        new RemoveIdentityPass(),
        new ReshapeTransposeChainPass(),
        new MatMulAddToGemmPass(),
        new LayerNormFusionPass(),
        new GeluFusionPass(),
        new PowRewritePass(),
        new FoldBatchNormPass(standaloneIsError: false),
        new FuseActivationPass(),
        new FoldPadPass(foldIntoAveragePool: true),
    ];

    public static IReadOnlyList<(string Pass, int Rewrites)> Run(Graph graph) => Run(graph, DefaultPasses);

    public static IReadOnlyList<(string Pass, int Rewrites)> Run(Graph graph, IReadOnlyList<IGraphPass> passes)
    {
        var log = new List<(string, int)>();
        foreach (var pass in passes)
        {
            log.Add((pass.Name, pass.Run(graph)));
        }

        ShapeInference.Run(graph, stopAtUnknownOp: true);
        return log;
    }
}
