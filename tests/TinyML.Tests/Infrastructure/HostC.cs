using System.Diagnostics;
using System.Text;

namespace TinyML.Tests.Infrastructure;

/// <summary>
/// Compiles C sources with a C compiler found on PATH and runs the result: how tests check the C kernels and
/// generated code against the C# reference. Every build goes to a fresh temp directory.
/// </summary>
internal static class HostC
{
    /// <summary>Flags every host build uses: the product C must be warning-free C99.</summary>
    public static readonly string[] HostFlags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"];

    public sealed record RunResult(int ExitCode, string StdOut, string StdErr);

    /// <summary>The kernel sources (src/TinyML.Kernels/src/*.c), sorted for reproducible command lines.</summary>
    public static string[] KernelSources() =>
        Directory.GetFiles(Path.Combine(TestPaths.Kernels, "src"), "*.c").Order(StringComparer.Ordinal).ToArray();

    public static string KernelInclude => Path.Combine(TestPaths.Kernels, "include");

    /// <summary>
    /// Compiles <paramref name="sources"/> with the host gcc into an executable, runs it and returns its output.
    /// A compile error fails the test with gcc's diagnostics; a missing gcc is a visible skip.
    /// </summary>
    public static RunResult CompileAndRun(
        IEnumerable<string> sources,
        IEnumerable<string> includeDirs,
        IEnumerable<string>? extraFlags = null,
        TimeSpan? timeout = null)
    {
        string exe = Compile(sources, includeDirs, extraFlags);
        return Run(exe, [], timeout ?? TimeSpan.FromMinutes(2));
    }

    /// <summary>Compiles and links with the host gcc; returns the executable path.</summary>
    public static string Compile(IEnumerable<string> sources, IEnumerable<string> includeDirs, IEnumerable<string>? extraFlags = null)
    {
        RequireTool("gcc");
        string dir = TestPaths.NewTempDir("hostc");
        string exe = Path.Combine(dir, OperatingSystem.IsWindows() ? "prog.exe" : "prog");
        var args = new List<string>(HostFlags);
        args.AddRange(extraFlags ?? []);
        args.AddRange(includeDirs.Select(d => "-I" + d));
        args.AddRange(sources);
        args.AddRange(["-o", exe]);
        // -lm only so that test harnesses may use libm; the kernels themselves never need it.
        args.Add("-lm");
        var result = Run("gcc", args, TimeSpan.FromMinutes(3));
        if (result.ExitCode != 0)
        {
            Assert.Fail($"gcc failed (exit {result.ExitCode}): gcc {string.Join(' ', args)}\n{result.StdErr}\n{result.StdOut}");
        }

        return exe;
    }

    /// <summary>Writes <paramref name="code"/> to a temp .c file and returns its path.</summary>
    public static string WriteSource(string code, string fileName = "harness.c")
    {
        string path = Path.Combine(TestPaths.NewTempDir("csrc"), fileName);
        File.WriteAllText(path, code);
        return path;
    }

    /// <summary>True when <paramref name="tool"/> can be started from PATH.</summary>
    public static bool IsOnPath(string tool)
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        string[] names = OperatingSystem.IsWindows() ? [tool + ".exe", tool] : [tool];
        return path.Split(Path.PathSeparator).Any(dir => names.Any(n => File.Exists(Path.Combine(dir, n))));
    }

    /// <summary>Marks the test inconclusive (a visible skip) when the tool is not installed.</summary>
    public static void RequireTool(string tool)
    {
        if (!IsOnPath(tool))
        {
            Assert.Inconclusive($"SKIPPED: '{tool}' is not on PATH");
        }
    }

    /// <summary>Runs a process to completion, capturing both streams (read concurrently so neither pipe fills up).</summary>
    public static RunResult Run(string fileName, IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {fileName}");
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} did not finish within {timeout}");
        }

        process.WaitForExit(); // flushes the asynchronous readers
        return new RunResult(process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
