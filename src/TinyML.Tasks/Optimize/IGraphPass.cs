namespace TinyML.Optimize;

/// <summary>One rewrite over the float graph. Passes are small and independently testable.</summary>
public interface IGraphPass
{
    string Name { get; }

    /// <summary>Rewrites <paramref name="graph"/> in place; returns how many rewrites were made (0 = nothing to do).</summary>
    int Run(Graph graph);
}
