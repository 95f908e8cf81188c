using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;

namespace TinyML.Tests.Integration;

/// <summary>
/// One small packed-SDK project. Its folder gets <c>&lt;Name&gt;.csproj</c> (a <c>TinyModel Include="model.onnx"</c> with
/// <see cref="Metadata"/>; firmware off unless <see cref="Properties"/> turns it on) and <c>model.onnx</c>.
/// </summary>
/// <param name="Name">Folder and project name (letters, digits, '_').</param>
/// <param name="Model">The ONNX model written as model.onnx.</param>
/// <param name="Metadata">Attributes of the TinyModel item; <c>{dir}</c> stands for the project folder.</param>
/// <param name="Properties">Extra content of the project's PropertyGroup.</param>
/// <param name="Setup">Writes further files into the project folder.</param>
internal sealed record BatchProject(string Name, IMessage Model, string Metadata = "", string Properties = "", Action<string>? Setup = null);

/// <summary>What one project of the batch reported and wrote.</summary>
/// <param name="Directory">The project folder.</param>
/// <param name="Diagnostics">Its coded errors and warnings (MSBuild attributes each line to its project).</param>
/// <param name="WrittenOutsideObjAndBin">Files it created or changed outside its obj/ and bin/ (relative to the batch
/// root), plus any written outside every project folder (those cannot be attributed, so every project reports them).</param>
internal sealed record BatchOutcome(string Directory, IReadOnlyList<BatchDiagnostic> Diagnostics, IReadOnlyList<string> WrittenOutsideObjAndBin, string Log)
{
    public IEnumerable<BatchDiagnostic> Errors => Diagnostics.Where(d => d.Severity == "error");

    public override string ToString() => Log;
}

internal sealed record BatchDiagnostic(string Severity, string Code, string Message);

/// <summary>
/// Builds many small projects with ONE <c>dotnet build</c> of a solution that lists them all (one restore, one MSBuild
/// start, both cores; a failing project does not stop the others): the cheap way to run dozens of bad-input cases that
/// each fail in the targets or early in tinymlc.
/// </summary>
internal static class ProjectBatch
{
    private static readonly Regex DiagnosticLine = new(
        @"^(?<origin>.*?): (?<severity>error|warning) (?<code>[A-Z]+[0-9]+): (?<message>.*) \[(?<project>[^\[\]]+\.csproj)(?:::[^\]]*)?\]$",
        RegexOptions.CultureInvariant);

    public static async Task<IReadOnlyDictionary<string, BatchOutcome>> BuildAsync(LocalSdkFeed feed, IReadOnlyList<BatchProject> projects,
        CancellationToken cancellationToken)
    {
        var root = Path.Combine(feed.Root, "projects", "batch-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var solution = new StringBuilder("<Solution>\n");
        foreach (var project in projects)
        {
            var dir = Path.Combine(root, project.Name);
            Directory.CreateDirectory(dir);
            await File.WriteAllBytesAsync(Path.Combine(dir, "model.onnx"), project.Model.ToByteArray(), cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(dir, project.Name + ".csproj"), $"""
                <Project Sdk="TinyML.Sdk/{feed.Version}">
                  <PropertyGroup>
                    <TinyMLBuildFirmware>false</TinyMLBuildFirmware>
                    {project.Properties}
                  </PropertyGroup>
                  <ItemGroup>
                    <TinyModel Include="model.onnx" {project.Metadata.Replace("{dir}", dir, StringComparison.Ordinal)} />
                  </ItemGroup>
                </Project>
                """, cancellationToken);
            project.Setup?.Invoke(dir);
            solution.Append($"  <Project Path=\"{project.Name}/{project.Name}.csproj\" />\n");
        }

        solution.Append("</Solution>\n");
        await File.WriteAllTextAsync(Path.Combine(root, "batch.slnx"), solution.ToString(), cancellationToken);

        var before = FolderSnapshot.Take(root);
        var build = await feed.DotNetAsync(root, cancellationToken, "build", "batch.slnx", "-nr:false");
        var written = before.WrittenSince(FolderSnapshot.Take(root));

        var diagnostics = new Dictionary<string, HashSet<BatchDiagnostic>>(StringComparer.Ordinal);
        foreach (var line in build.Output.Split('\n').Select(l => l.TrimEnd('\r').Trim()))
        {
            var match = DiagnosticLine.Match(line);
            if (match.Success)
            {
                var name = Path.GetFileNameWithoutExtension(match.Groups["project"].Value);
                if (!diagnostics.TryGetValue(name, out var set))
                {
                    diagnostics[name] = set = [];
                }

                set.Add(new BatchDiagnostic(match.Groups["severity"].Value, match.Groups["code"].Value, match.Groups["message"].Value));
            }
        }

        var sep = Path.DirectorySeparatorChar;
        var unattributed = written.Where(w => !projects.Any(p => w.StartsWith(p.Name + sep, StringComparison.Ordinal))).ToList();
        return projects.ToDictionary(p => p.Name, p => new BatchOutcome(
            Path.Combine(root, p.Name),
            diagnostics.TryGetValue(p.Name, out var found) ? [.. found] : [],
            [.. FolderSnapshot.OutsideObjAndBin(written.Where(w => w.StartsWith(p.Name + sep, StringComparison.Ordinal)), p.Name), .. unattributed],
            build.ToString()));
    }
}
