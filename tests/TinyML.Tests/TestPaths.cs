namespace TinyML.Tests;

/// <summary>Where the repository and the read-only shared data live, seen from a test.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Kernels => Path.Combine(RepoRoot, "src", "TinyML.Kernels");

    /// <summary>
    /// <c>../shared</c> beside the checkout (or any parent's sibling, so git worktrees work), or $TINYML_SHARED_DIR.
    /// Null when absent: tests that need it report a visible skip.
    /// </summary>
    public static string? Shared { get; } = FindShared();

    public static string SharedOrSkip(string relative)
    {
        if (Shared is null || !Path.Exists(Path.Combine(Shared, relative)))
        {
            Assert.Inconclusive($"SKIPPED: shared data '{relative}' not found (expected ../shared beside the repo or $TINYML_SHARED_DIR)");
        }

        return Path.Combine(Shared!, relative);
    }

    public static string NewTempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), "tinyml-tests", $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TinyML.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (TinyML.Sdk.sln) above " + AppContext.BaseDirectory);
    }

    private static string? FindShared()
    {
        if (Environment.GetEnvironmentVariable("TINYML_SHARED_DIR") is { Length: > 0 } env && Directory.Exists(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(RepoRoot); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared");
            if (Directory.Exists(Path.Combine(candidate, "models")))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }
}
