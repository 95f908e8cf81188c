namespace TinyML.Optimize;

/// <summary>
/// Runs the rewrite passes in a fixed order, then shape inference. Returns what each pass did, for the build log.
/// Constant folding goes first: it removes the shape plumbing and resolved control flow the other passes do not
/// understand. Shape inference stops at the first op it has no rule for; the lowering then names that op (TML1002).
/// </summary>
public static class GraphOptimizer
{
    /// <summary>The int8 path: a BatchNormalization that does not follow a Conv/Gemm is an error (int8 has no kernel
    /// for it), and a Pad never folds into an AveragePool (the int8 pool has no count_include_pad).</summary>
    public static IReadOnlyList<IGraphPass> DefaultPasses { get; } = Passes(float32: false);

    /// <summary>
    /// The float32 path (<c>Quantize="none"</c>): the same rewrites, except that a BatchNormalization which does not
    /// follow a Conv/Gemm stays in the graph (the float path has a kernel for it; int8 has none), and a zero Pad also
    /// folds into an AveragePool (as count_include_pad = 1, which only the float32 pool implements).
    /// </summary>
    public static IReadOnlyList<IGraphPass> FloatPasses { get; } = Passes(float32: true);

    /// <summary>One pass order for both paths, so they cannot drift apart; only two passes' options differ.</summary>
    private static IGraphPass[] Passes(bool float32) =>
    [
        new ConstantFoldingPass(),
        new RemoveIdentityPass(),
        new ReshapeTransposeChainPass(),
        new MatMulAddToGemmPass(),
        new LayerNormFusionPass(),
        new GeluFusionPass(),
        new PowRewritePass(),
        new FoldBatchNormPass(standaloneIsError: !float32),
        new FuseActivationPass(),
        new FoldPadPass(foldIntoAveragePool: float32),
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
