using System.Text.Json;

namespace TinyML.Tests.Integration;

/// <summary>
/// `dotnet new list tinyml` is how a user finds the board templates: after installing the packed template pack, every
/// template under templates/content must be listed by its short name with its one-line name (the description column
/// `dotnet new list` shows). The expected set is read from the template folders, so a new board template is covered
/// without editing this test.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class TemplateListTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Dotnet_new_list_tinyml_shows_every_template_with_a_one_line_name()
    {
        var templates = Directory.GetDirectories(Path.Combine(TestPaths.RepoRoot, "templates", "content"))
            .Select(dir => Path.Combine(dir, ".template.config", "template.json"))
            .Where(File.Exists)
            .Select(file =>
            {
                using var json = JsonDocument.Parse(File.ReadAllText(file));
                return (ShortName: json.RootElement.GetProperty("shortName").GetString()!, Name: json.RootElement.GetProperty("name").GetString()!);
            })
            .OrderBy(t => t.ShortName, StringComparer.Ordinal)
            .ToList();
        Assert.IsGreaterThanOrEqualTo(4, templates.Count, "the template pack has the nRF52840, ESP32, STM32 and RP2040 templates at least");

        var feed = await LocalSdkFeed.GetAsync(TestContext.CancellationToken);
        var list = await DotNetCli.RunAsync(feed.Root, feed.Environment, TestContext.CancellationToken,
            ["new", "list", "tinyml", "--debug:custom-hive", feed.TemplateHive]);
        Assert.AreEqual(0, list.ExitCode, list.ToString());
        Console.WriteLine(list.Output);

        foreach (var (shortName, name) in templates)
        {
            Assert.IsFalse(string.IsNullOrWhiteSpace(name) || name.Contains('\n', StringComparison.Ordinal), $"{shortName}: its name must be one line");
            Assert.IsTrue(shortName.StartsWith("tinyml-", StringComparison.Ordinal), $"{shortName}: board templates are named tinyml-<board>");
            var row = list.Output.Split('\n').FirstOrDefault(line => line.Contains(shortName, StringComparison.Ordinal));
            Assert.IsNotNull(row, $"dotnet new list tinyml does not show {shortName}\n{list}");
            // dotnet new list cuts names longer than about 90 characters with "...": the whole name must show.
            StringAssert.Contains(row, name, $"{shortName}'s row does not show its whole one-line name\n{list}");
        }
    }
}
