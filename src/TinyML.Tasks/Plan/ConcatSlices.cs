namespace TinyML.Plan;

/// <summary>
/// Concat without copies: in NCHW with batch 1, a Concat along an axis whose outer dimensions are all 1 (channels of
/// an image, features of a vector) puts each input in one contiguous slice of the output. Such an input can live in
/// its slice from the start — its producer writes straight into the Concat output (the planner treats it as an
/// alias at a byte offset) and the Concat copies nothing for it.
/// <para>Only inputs copied byte for byte qualify: an int8 input whose scale or zero point differs from the output's
/// is requantized by the Concat, so it keeps its own buffer and the copy. Model inputs and outputs keep theirs too
/// (the invoke API copies them in and out), as do Reshape aliases (their bytes belong to another tensor) and slices
/// whose offset would break the board's arena alignment.</para>
/// </summary>
public static class ConcatSlices
{
    /// <summary>For every tensor: the Concat output and byte offset it lives at, or null.</summary>
    public static IReadOnlyList<(int Target, int Offset)?> Find(LoweredModel model, int alignment)
    {
        var slices = new (int Target, int Offset)?[model.Tensors.Count];
        var pinned = model.Inputs.Concat(model.Outputs).ToHashSet();
        var produced = model.Ops.Select(op => op.Output).ToHashSet();
        foreach (var gather in model.Ops.OfType<QGather>())
        {
            foreach (var part in gather.Parts)
            {
                if (part.Source is not { } source
                    || part.Multiplier != 0
                    || source == gather.Output
                    || slices[source] is not null
                    || pinned.Contains(source)
                    || !produced.Contains(source)
                    || model.Tensors[source].AliasOf is not null
                    || part.Plan.OutOffset % alignment != 0
                    || !IsContiguousCopy(part.Plan, model.Tensors[source].Bytes)
                    || ReachesThroughSlices(slices, gather.Output, source))
                {
                    continue;
                }

                slices[source] = (gather.Output, part.Plan.OutOffset);
            }
        }

        return slices;
    }

    /// <summary>Whether the region copies the whole source, element n to output OutOffset + n, in order.</summary>
    public static bool IsContiguousCopy(Lower.GatherPlan plan, int sourceBytes)
    {
        if (plan.ElementCount != sourceBytes)
        {
            return false;
        }

        var n = 0;
        var contiguous = true;
        plan.ForEach((target, source) =>
        {
            contiguous &= source == n && target == plan.OutOffset + n;
            n++;
        });
        return contiguous;
    }

    /// <summary>A cycle guard: <paramref name="target"/> must not already live inside <paramref name="source"/>.</summary>
    private static bool ReachesThroughSlices((int Target, int Offset)?[] slices, int target, int source)
    {
        for (var id = target; slices[id] is { } next; id = next.Target)
        {
            if (next.Target == source)
            {
                return true;
            }
        }

        return false;
    }
}
