using System.Globalization;
using System.Runtime.InteropServices;

namespace TinyML.Tests.Integration;

/// <summary>
/// TinyML.Sdk and TinyML.Templates packed once per test run into a private feed, with a unique prerelease version
/// (NuGet never re-extracts a version it has cached, so re-packing 0.1.0 would silently test old bits) and a private
/// NUGET_PACKAGES folder; plus a template hive so `dotnet new` never touches the user's installed templates.
/// </summary>
public sealed class LocalSdkFeed
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static LocalSdkFeed? s_instance;

    private LocalSdkFeed(string root, string version)
    {
        Root = root;
        Version = version;
    }

    /// <summary>Everything lives below here; projects created below it pick up its nuget.config.</summary>
    public string Root { get; }

    public string Version { get; }

    public string Feed => Path.Combine(Root, "feed");

    public string Packages => Path.Combine(Root, "packages");

    public string TemplateHive => Path.Combine(Root, "hive");

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["NUGET_PACKAGES"] = Packages };

    public static async Task<LocalSdkFeed> GetAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            return s_instance ??= await CreateAsync(cancellationToken);
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Creates a project from the tinyml-nrf52840 template in a fresh folder below <see cref="Root"/>.</summary>
    public Task<string> NewProjectAsync(string name, CancellationToken cancellationToken, params string[] extraArgs) =>
        NewProjectFromTemplateAsync("tinyml-nrf52840", name, cancellationToken, extraArgs);

    /// <summary>Creates a project from <paramref name="template"/> (tinyml-nrf52840, tinyml-m55, tinyml-esp32) in a fresh folder below <see cref="Root"/>.</summary>
    public async Task<string> NewProjectFromTemplateAsync(string template, string name, CancellationToken cancellationToken, params string[] extraArgs)
    {
        var dir = Path.Combine(Root, "projects", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)], name);
        var result = await DotNetCli.RunAsync(Root, Environment, cancellationToken,
            ["new", template, "-o", dir, "--debug:custom-hive", TemplateHive, .. extraArgs]);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        return dir;
    }

    /// <summary>Creates a project named <paramref name="name"/> from the tinyml-nrf52840 template in <paramref name="directory"/>.</summary>
    public async Task<string> NewProjectInAsync(string directory, string name, CancellationToken cancellationToken)
    {
        var result = await DotNetCli.RunAsync(Root, Environment, cancellationToken,
            ["new", "tinyml-nrf52840", "-n", name, "-o", directory, "--debug:custom-hive", TemplateHive]);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        return directory;
    }

    public Task<CliResult> DotNetAsync(string workingDirectory, CancellationToken cancellationToken, params string[] args) =>
        DotNetCli.RunAsync(workingDirectory, Environment, cancellationToken, args);

    /// <summary>Like <see cref="DotNetAsync"/> with extra environment variables (e.g. a PATH with a fake idf.py).</summary>
    public Task<CliResult> DotNetWithEnvironmentAsync(string workingDirectory, IReadOnlyDictionary<string, string> extra, CancellationToken cancellationToken, params string[] args) =>
        DotNetCli.RunAsync(workingDirectory, Environment.Concat(extra).ToDictionary(kv => kv.Key, kv => kv.Value), cancellationToken, args);

    private static async Task<LocalSdkFeed> CreateAsync(CancellationToken cancellationToken)
    {
        var root = TestPaths.NewTempDir("sdk-feed");
        var suffix = "dev." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var feed = new LocalSdkFeed(root, version: string.Empty);
        Directory.CreateDirectory(feed.Feed);
        Directory.CreateDirectory(feed.Packages);

        // Only this machine's ONNX Runtime: a smaller, faster pack than the release one.
        var rid = $"{(OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux")}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        foreach (var project in new[] { Path.Combine("src", "TinyML.Sdk", "TinyML.Sdk.csproj"), Path.Combine("templates", "TinyML.Templates.csproj") })
        {
            var pack = await DotNetCli.RunAsync(TestPaths.RepoRoot, feed.Environment, cancellationToken,
                "pack", Path.Combine(TestPaths.RepoRoot, project), "-c", "Release", "-o", feed.Feed, "-nr:false",
                $"-p:VersionSuffix={suffix}", $"-p:TinyMLToolRuntimes={rid}");
            Assert.AreEqual(0, pack.ExitCode, pack.ToString());
        }

        var sdkPackage = Directory.GetFiles(feed.Feed, "TinyML.Sdk.*.nupkg").Single();
        var version = Path.GetFileNameWithoutExtension(sdkPackage)["TinyML.Sdk.".Length..];
        Assert.EndsWith(suffix, version);

        // <clear/>: the SDK must come from this feed; nuget.org stays for anything else a project might reference.
        await File.WriteAllTextAsync(Path.Combine(root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{feed.Packages}" />
              </config>
              <packageSources>
                <clear />
                <add key="tinyml-local" value="{feed.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """, cancellationToken);

        var result = await DotNetCli.RunAsync(root, feed.Environment, cancellationToken,
            "new", "install", Directory.GetFiles(feed.Feed, "TinyML.Templates.*.nupkg").Single(), "--debug:custom-hive", feed.TemplateHive);
        Assert.AreEqual(0, result.ExitCode, result.ToString());

        return new LocalSdkFeed(root, version);
    }
}
