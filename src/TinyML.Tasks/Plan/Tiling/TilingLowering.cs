namespace TinyML.Plan.Tiling;

/// <summary>Replaces each tiled stage's ops in a model by one <see cref="TiledStageOp"/> running them tile by tile.</summary>
public static class TilingLowering
{
    /// <summary>One stage (see <see cref="Apply(LoweredModel, IReadOnlyList{TiledStage}, int, bool)"/>).</summary>
    public static LoweredModel Apply(LoweredModel model, TiledStage stage, int alignment, bool inputInPlace = false) =>
        Apply(model, [stage], alignment, inputInPlace);

    /// <param name="stages">Disjoint stages, in order.</param>
    /// <param name="inputInPlace">Read the model's input where the caller has it (<see cref="LoweredModel.InputInPlace"/>),
    /// when only the first stage reads it and the model has one input.</param>
    public static LoweredModel Apply(LoweredModel model, IReadOnlyList<TiledStage> stages, int alignment, bool inputInPlace = false)
    {
        var result = model.WithoutOps();
        for (var i = 0; i < model.Ops.Count; i++)
        {
            if (stages.FirstOrDefault(s => s.FirstOp == i) is { } stage)
            {
                result.Ops.Add(Lower(model, stage, alignment));
                i = stage.LastOp;
            }
            else
            {
                result.Ops.Add(model.Ops[i]);
            }
        }

        result.InputInPlace = inputInPlace && stages.Count > 0 && CanReadInputInPlace(model, stages[0]);
        return result;
    }

    /// <summary>Only a stage that starts at the first op reads the model's one input (nothing after it, no learning head,
    /// no other input).</summary>
    public static bool CanReadInputInPlace(LoweredModel model, TiledStage stage) =>
        stage.FirstOp == 0 && stage.Inputs.Contains(model.Input) && model.ExtraInputs.Count == 0 && !model.Ops.OfType<QTrainableHead>().Any()
        && model.Ops.Skip(stage.LastOp + 1).All(op => !op.Inputs.Contains(model.Input)) && !model.Outputs.Contains(model.Input);

    private static TiledStageOp Lower(LoweredModel model, TiledStage stage, int alignment)
    {
        var ops = stage.OpIndices.Select(i => model.Ops[i]).ToList();
        var variants = ops.Select(_ => new List<LoweredOp>()).ToList();
        var keys = ops.Select(_ => new List<string>()).ToList();
        var tileVariants = new List<IReadOnlyList<int>>();
        var tileOps = new List<IReadOnlyList<LoweredOp>>();
        for (var tile = 0; tile < stage.TileCount; tile++)
        {
            var chosen = new List<int>();
            var run = new List<LoweredOp>();
            for (var j = 0; j < ops.Count; j++)
            {
                if (stage.ComputedRows(tile, ops[j].Output) is not { } computed)
                {
                    chosen.Add(-1);
                    continue;
                }

                var band = BandOps.For(model, ops[j], computed);
                var key = BandOps.Key(band);
                var v = keys[j].IndexOf(key);
                if (v < 0)
                {
                    v = keys[j].Count;
                    keys[j].Add(key);
                    variants[j].Add(band);
                }

                chosen.Add(v);
                run.Add(variants[j][v]);
            }

            tileVariants.Add(chosen);
            tileOps.Add(run);
        }

        return new TiledStageOp
        {
            NodeName = model.Ops[stage.LastOp].NodeName,
            Inputs = [.. stage.Inputs],
            Output = stage.Output,
            Ops = ops,
            Stage = stage,
            Layout = RowTiling.Layout(model, stage, alignment),
            Variants = variants,
            TileVariants = tileVariants,
            TileOps = tileOps,
        };
    }
}
