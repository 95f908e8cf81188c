using System.Text.Json.Nodes;
using TinyML.Emit;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc arena-group --group g --out dir a.report.json b.report.json</c> (or <c>--report</c> per file): defines the one
/// arena the models of a group share (they never run at the same time), sized for the largest of them.
/// </summary>
public static class ArenaGroupCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var group = args.Require("group");
        if (!ArenaGroupSource.IsValidName(group))
        {
            throw new TinyMLException(ErrorCodes.InvalidArenaGroup, $"ArenaGroup '{group}' is not a C identifier");
        }

        var members = new List<(string Model, int ArenaBytes)>();
        var alignment = 4;
        foreach (var reportPath in args.GetAll("report").Concat(args.Positional))
        {
            JsonNode? report;
            try
            {
                report = JsonNode.Parse(File.ReadAllText(reportPath));
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException)
            {
                throw new TinyMLException(ErrorCodes.PlanFailed, $"cannot read the compile report: {e.Message}", reportPath);
            }

            var model = report?["model"]?.GetValue<string>();
            var bytes = report?["arena"]?["bytes"]?.GetValue<int>();
            if (model is null || bytes is null)
            {
                throw new TinyMLException(ErrorCodes.PlanFailed, "compile report has no model name or arena size", reportPath);
            }

            if (report?["arenaGroup"]?.GetValue<string>() != group)
            {
                throw new TinyMLException(ErrorCodes.InvalidArenaGroup, $"model '{model}' was not compiled for arena group '{group}'", reportPath);
            }

            members.Add((model, bytes.Value));
            // The shared buffer must satisfy the strictest member (16 on a Helium board); older reports have no field: 4.
            alignment = Math.Max(alignment, report?["arena"]?["alignment"]?.GetValue<int>() ?? 4);
        }

        members.Sort((a, b) => string.CompareOrdinal(a.Model, b.Model)); // deterministic output whatever the order given
        var outDir = args.Require("out");
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, ArenaGroupSource.FileName(group));
        OutputFile.WriteTextIfChanged(path, ArenaGroupSource.Emit(group, members, alignment));
        var shared = members.Count == 0 ? 0 : members.Max(m => m.ArenaBytes);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tinyml: arena group '{group}': {shared:N0} B shared by {string.Join(", ", members.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Model} ({m.ArenaBytes:N0} B)")))}; separate arenas would need {members.Sum(m => m.ArenaBytes):N0} B"));
        return 0;
    }
}
