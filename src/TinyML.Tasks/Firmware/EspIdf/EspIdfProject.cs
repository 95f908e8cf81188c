using System.Collections;
using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TinyML.Firmware.EspIdf;

/// <summary>What to build for an ESP-IDF board (esp32, esp32s3, esp32c3).</summary>
/// <param name="Board">An ESP-IDF board (<see cref="FirmwareBuildSystem.EspIdf"/>).</param>
/// <param name="ProjectName">The .NET project's name; the image is named after the CMake project() instead when ESP-IDF reports it.</param>
/// <param name="ProjectDirectory">The project folder, which is also the ESP-IDF project (top-level CMakeLists.txt, main/).</param>
/// <param name="ModelSources">Generated model C files (and arena-group files).</param>
/// <param name="ModelHeaders">Generated model headers.</param>
/// <param name="ModelReports">The models' <c>.report.json</c> (weights and arena bytes for the budget check).</param>
/// <param name="Defines">Preprocessor definitions for the component (TinyMLDefineConstants).</param>
/// <param name="KernelsRoot">Folder holding include/, src/ and boards/.</param>
/// <param name="ComponentDirectory">Where the component goes: a fixed folder under obj/ the top-level CMakeLists.txt adds.</param>
/// <param name="BuildDirectory">idf.py's build folder (<c>-B</c>), under bin/; sdkconfig goes there too.</param>
/// <param name="RunIdfPy">False = generate the component only (no idf.py, no TML5001).</param>
public sealed record EspIdfRequest(
    Board Board,
    string ProjectName,
    string ProjectDirectory,
    IReadOnlyList<string> ModelSources,
    IReadOnlyList<string> ModelHeaders,
    IReadOnlyList<string> ModelReports,
    IReadOnlyList<string> Defines,
    string KernelsRoot,
    string ComponentDirectory,
    string BuildDirectory,
    bool RunIdfPy = true);

/// <summary>What an ESP-IDF build produced.</summary>
/// <param name="ComponentFiles">The component's files, relative to its folder.</param>
/// <param name="ElfPath">The linked image, or null when idf.py did not run.</param>
/// <param name="BinPath">The flashable app image, or null when idf.py did not run.</param>
public sealed record EspIdfResult(IReadOnlyList<string> ComponentFiles, string? ElfPath, string? BinPath);

/// <summary>
/// Builds an ESP-IDF board's firmware the way an ESP-IDF user would: the project folder is an ordinary ESP-IDF project
/// (top-level <c>CMakeLists.txt</c> with <c>project()</c>, <c>main/</c> with <c>app_main</c>); the SDK adds the model
/// as the component <c>tinyml</c> (<see cref="EspIdfComponent"/>) under obj/, then runs
/// <c>idf.py -C &lt;project&gt; -B &lt;bin/...&gt; -D SDKCONFIG=&lt;bin/...&gt;/sdkconfig -D IDF_TARGET=&lt;chip&gt; build</c>,
/// so <c>dotnet build</c> writes nothing outside obj/ and bin/ (no build/, no sdkconfig in the project folder).
/// Without ESP-IDF it stops after the component with TML5001, saying how to install ESP-IDF and how to build by hand.
/// </summary>
public static partial class EspIdfProject
{
    /// <summary>The component folder relative to the project, as the template's top-level CMakeLists.txt names it.</summary>
    public const string DefaultComponentDirectory = "obj/esp-idf/" + EspIdfComponent.Name;

    public static EspIdfResult Build(EspIdfRequest r, TextWriter log, IDictionary? environment = null)
    {
        if (r.Board.BuildSystem != FirmwareBuildSystem.EspIdf || r.Board.EspIdfTarget is null)
        {
            throw new TinyMLException(ErrorCodes.EspIdfProjectInvalid, $"board '{r.Board.Name}' is not an ESP-IDF board");
        }

        var projectDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(r.ProjectDirectory));
        var componentDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(r.ComponentDirectory));
        CheckProject(projectDir, componentDir);
        CheckProjectSdkconfig(r, projectDir);
        CheckBudgets(r);

        var files = EspIdfComponent.Write(r);
        log.WriteLine($"tinyml: ESP-IDF component '{EspIdfComponent.Name}' ({files.Count} files) -> {componentDir}");
        if (!r.RunIdfPy)
        {
            log.WriteLine("tinyml: TinyMLEspIdfBuild=false: idf.py not run");
            return new EspIdfResult(files, null, null);
        }

        var env = environment ?? Environment.GetEnvironmentVariables();
        var buildDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(r.BuildDirectory));
        if (Locate(env) is not { } idfPy)
        {
            // An image from an earlier build with ESP-IDF would otherwise pass for this build's.
            DeleteImages(r, buildDir);
            throw new TinyMLException(ErrorCodes.ToolchainMissing, MissingMessage(r, projectDir, componentDir), Path.Combine(projectDir, "CMakeLists.txt"));
        }

        Directory.CreateDirectory(buildDir);
        string[] arguments =
        [
            "-C", projectDir, "-B", buildDir,
            // sdkconfig is generated from sdkconfig.defaults; keeping it beside the build keeps the project folder
            // untouched by dotnet build, and one build folder per board keeps targets from fighting over it.
            "-D", "SDKCONFIG=" + Path.Combine(buildDir, "sdkconfig"),
            "-D", "IDF_TARGET=" + r.Board.EspIdfTarget,
            "build",
        ];
        log.WriteLine($"tinyml: {idfPy.Display} {string.Join(' ', arguments.Select(Quote))}");
        var lines = Run(idfPy, arguments, projectDir, ComponentManagerSwitch(projectDir), log);
        try
        {
            Report(r, lines, log);
        }
        catch (TinyMLException)
        {
            // A failed build must not leave the previous image behind, where a flashing script takes it for fresh
            // (ESP-IDF's ninja keeps it when a compile fails before the link); the next idf.py build relinks it.
            DeleteImages(r, buildDir);
            throw;
        }

        var (elf, bin) = Outputs(r, buildDir);
        if (bin is not null && File.Exists(bin))
        {
            var bytes = new FileInfo(bin).Length;
            var budget = r.Board.Flash?.Size ?? 0;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tinyml: {Path.GetFileName(bin)} ({r.Board.Name}): app image {bytes:N0} / {budget:N0} B ({(budget == 0 ? 0 : 100.0 * bytes / budget):F1} %) of the factory app partition; static RAM: idf.py -B {buildDir} size"));
        }

        return new EspIdfResult(files, elf, bin);
    }

    /// <summary>
    /// idf.py to run: <c>idf.py</c> on PATH (an exported ESP-IDF environment), else <c>$IDF_PATH/tools/idf.py</c>
    /// run by ESP-IDF's Python environment (<c>$IDF_PYTHON_ENV_PATH</c>) or python3. Null = ESP-IDF is not installed.
    /// </summary>
    public static IdfPy? Locate(IDictionary environment)
    {
        var path = environment["PATH"] as string ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in OperatingSystem.IsWindows() ? new[] { "idf.py.exe", "idf.py" } : ["idf.py"])
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return new IdfPy(Path.GetFullPath(candidate), null);
                }
            }
        }

        if (environment["IDF_PATH"] is string { Length: > 0 } idfPath && Path.Combine(idfPath, "tools", "idf.py") is var script && File.Exists(script))
        {
            var python = environment["IDF_PYTHON_ENV_PATH"] is string { Length: > 0 } venv
                ? Path.Combine(venv, OperatingSystem.IsWindows() ? "Scripts" : "bin", OperatingSystem.IsWindows() ? "python.exe" : "python")
                : null;
            if (python is null || !File.Exists(python))
            {
                python = FindOnPath(path, OperatingSystem.IsWindows() ? "python.exe" : "python3");
            }

            return python is null ? null : new IdfPy(python, Path.GetFullPath(script));
        }

        return null;
    }

    /// <summary>How to run idf.py: <paramref name="Executable"/> alone, or a Python running <paramref name="Script"/>.</summary>
    public sealed record IdfPy(string Executable, string? Script)
    {
        public string Display => Script is null ? Executable : $"{Executable} {Script}";
    }

    /// <summary>
    /// The project folder must be an ESP-IDF project that adds the generated component: otherwise idf.py would fail
    /// later with a message about a missing component, far from the cause.
    /// </summary>
    private static void CheckProject(string projectDir, string componentDir)
    {
        var cmakeLists = Path.Combine(projectDir, "CMakeLists.txt");
        var relative = Path.GetRelativePath(projectDir, componentDir).Replace('\\', '/');
        var expected = $$"""
            cmake_minimum_required(VERSION 3.16)
            set(EXTRA_COMPONENT_DIRS "${CMAKE_CURRENT_LIST_DIR}/{{relative}}")
            include($ENV{IDF_PATH}/tools/cmake/project.cmake)
            project(<name>)
            """;
        if (!File.Exists(cmakeLists))
        {
            throw new TinyMLException(ErrorCodes.EspIdfProjectInvalid,
                $"an ESP-IDF board needs the project folder to be an ESP-IDF project: {cmakeLists} does not exist. Create it with:\n{expected}\n"
                + "and put the application (app_main) in main/ with main/CMakeLists.txt: idf_component_register(SRCS \"main.c\" INCLUDE_DIRS \".\" PRIV_REQUIRES tinyml) "
                + "(dotnet new tinyml-esp32 creates all of this)", cmakeLists);
        }

        var text = File.ReadAllText(cmakeLists);
        if (!ProjectCall().IsMatch(text))
        {
            throw new TinyMLException(ErrorCodes.EspIdfProjectInvalid, $"{cmakeLists} does not call project(): it is not an ESP-IDF project's top-level CMakeLists.txt. Expected:\n{expected}", cmakeLists);
        }

        if (!text.Contains(relative, StringComparison.Ordinal))
        {
            throw new TinyMLException(ErrorCodes.EspIdfProjectInvalid,
                $"{cmakeLists} does not add the generated model component ({relative}): put set(EXTRA_COMPONENT_DIRS \"${{CMAKE_CURRENT_LIST_DIR}}/{relative}\") before include($ENV{{IDF_PATH}}/tools/cmake/project.cmake)", cmakeLists);
        }
    }

    /// <summary>
    /// idf.py takes the chip from the project folder's own <c>sdkconfig</c> (written by <c>idf.py set-target</c> or
    /// <c>idf.py build</c> run there) even when the build's sdkconfig is elsewhere (ESP-IDF's tools/idf_py_actions/tools.py,
    /// _guess_or_check_idf_target): one for another chip makes it build that chip or stop with "Target settings are not
    /// consistent". Said here, with the ways out, instead.
    /// </summary>
    private static void CheckProjectSdkconfig(EspIdfRequest r, string projectDir)
    {
        var sdkconfig = Path.Combine(projectDir, "sdkconfig");
        if (!File.Exists(sdkconfig))
        {
            return;
        }

        var target = File.ReadLines(sdkconfig).Select(l => SdkconfigTarget().Match(l)).LastOrDefault(m => m.Success)?.Groups["target"].Value;
        if (target is not null && !string.Equals(target, r.Board.EspIdfTarget, StringComparison.Ordinal))
        {
            throw new TinyMLException(ErrorCodes.EspIdfTargetMismatch,
                $"{sdkconfig} (from idf.py run in the project folder) is for {target}, but the board is '{r.Board.Name}' ({r.Board.EspIdfTarget}); "
                + $"idf.py reads that file whatever build folder it is given. Run idf.py set-target {r.Board.EspIdfTarget} in the folder, "
                + $"or delete sdkconfig there, or build for {target} (-p:TinyMLBoard={target}).", sdkconfig);
        }
    }

    /// <summary>
    /// Without ESP-IDF's linker the model alone is checked against the board's budgets: its weights must fit the app
    /// partition and its arena the static DRAM left after ESP-IDF (TML5002/TML5003 before anything else runs).
    /// </summary>
    private static void CheckBudgets(EspIdfRequest r)
    {
        long weights = 0;
        var arenas = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var report in r.ModelReports.Where(File.Exists))
        {
            JsonNode? json;
            try
            {
                json = JsonNode.Parse(File.ReadAllText(report));
            }
            catch (JsonException)
            {
                continue; // a damaged report is the compile step's problem; the ESP-IDF link still checks the budget
            }

            weights += json?["constantBytes"]?.GetValue<long>() ?? 0;
            var arena = json?["arena"]?["bytes"]?.GetValue<long>() ?? 0;
            // Models of one ArenaGroup share one arena, sized for the largest.
            var group = json?["arenaGroup"]?.GetValue<string>() is { Length: > 0 } g ? "group:" + g : "model:" + report;
            arenas[group] = Math.Max(arenas.GetValueOrDefault(group), arena);
        }

        var arenaTotal = arenas.Values.Sum();
        var project = Path.Combine(Path.GetFullPath(r.ProjectDirectory), "CMakeLists.txt");
        if (r.Board.Flash is { } flash && (ulong)weights > flash.Size)
        {
            throw new TinyMLException(ErrorCodes.FlashOverBudget, string.Create(CultureInfo.InvariantCulture,
                $"the model weights alone ({weights:N0} B) exceed board '{r.Board.Name}''s {flash.Size:N0} B app partition (ESP-IDF's default factory partition; ESP-IDF's own code needs about 150 KB of it too)"), project);
        }

        if (r.Board.Ram is { } ram && (ulong)arenaTotal > ram.Size)
        {
            throw new TinyMLException(ErrorCodes.RamOverBudget, string.Create(CultureInfo.InvariantCulture,
                $"the model arena ({arenaTotal:N0} B of static .bss) exceeds the {ram.Size:N0} B of static DRAM board '{r.Board.Name}' leaves the application after ESP-IDF's own use (see docs/sdk.md, ESP32 family)"), project);
        }
    }

    private static string MissingMessage(EspIdfRequest r, string projectDir, string componentDir) =>
        $"ESP-IDF not found (no idf.py on PATH, IDF_PATH not set or without tools/idf.py): the model component was generated in {componentDir}, "
        + $"but the firmware for board '{r.Board.Name}' needs ESP-IDF to link it. To build here, {r.Board.ToolchainInstallHint}. "
        + $"To build the generated project by hand in an ESP-IDF shell: cd {projectDir} && idf.py set-target {r.Board.EspIdfTarget} && idf.py build "
        + $"(then idf.py -p <serial port> flash monitor). Or set TinyMLEspIdfBuild=false to only generate the sources."
        + (r.Board.EmulatorImage is { } image
            ? $" Running in QEMU ({image.Name}) needs no ESP-IDF: dotnet build -t:Run, or dotnet run -p:TinyMLEspIdfBuild=false."
            : "");

    /// <summary>
    /// ESP-IDF's component manager writes dependencies.lock (and managed_components/) into the project folder. A
    /// project without a manifest (idf_component.yml) has nothing for it to do, so it is switched off there to keep
    /// dotnet build's writes inside obj/ and bin/; a project that declares dependencies keeps ESP-IDF's behaviour.
    /// </summary>
    private static string? ComponentManagerSwitch(string projectDir)
    {
        var hasManifest = File.Exists(Path.Combine(projectDir, "idf_component.yml"))
            || Directory.EnumerateFiles(projectDir, "idf_component.yml", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2 })
                .Any(f => !IsUnder(f, Path.Combine(projectDir, "obj")) && !IsUnder(f, Path.Combine(projectDir, "bin")) && !IsUnder(f, Path.Combine(projectDir, "build")));
        return hasManifest ? null : "0";
    }

    private static bool IsUnder(string path, string folder) =>
        Path.GetFullPath(path).StartsWith(Path.GetFullPath(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static List<string> Run(IdfPy idfPy, IReadOnlyList<string> arguments, string workingDirectory, string? componentManager, TextWriter log)
    {
        var info = new ProcessStartInfo(idfPy.Executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (idfPy.Script is not null)
        {
            info.ArgumentList.Add(idfPy.Script);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (componentManager is not null)
        {
            info.Environment["IDF_COMPONENT_MANAGER"] = componentManager;
        }

        // Plain output: the log is parsed for diagnostics, and colour codes would hide them.
        info.Environment["CMAKE_COLOR_DIAGNOSTICS"] = "OFF";
        info.Environment["CLICOLOR"] = "0";

        var lines = new List<string>();
        var gate = new object();
        using var process = new Process { StartInfo = info };
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (gate)
            {
                lines.Add(e.Data);
                // ESP-IDF's own progress, indented so that it never reads as a diagnostic of this tool.
                log.WriteLine("  " + e.Data);
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new TinyMLException(ErrorCodes.ToolchainMissing, $"cannot run {idfPy.Display}: {ex.Message}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        lock (gate)
        {
            if (process.ExitCode != 0)
            {
                lines.Add(ExitMarker + process.ExitCode.ToString(CultureInfo.InvariantCulture));
            }

            return lines;
        }
    }

    private const string ExitMarker = "\u0001exit ";

    /// <summary>
    /// ESP-IDF's errors as TML diagnostics: compiler and linker messages through <see cref="GccDiagnostics"/> (its
    /// region overflows of dram0_0_seg/iram0_0_seg become TML5003), the section ASSERTs "DRAM/IRAM0 segment data does
    /// not fit" (TML5003) and check_sizes.py's "partition is too small for binary" (TML5002); any other failure is
    /// TML5010 with idf.py's last lines.
    /// </summary>
    internal static void Report(EspIdfRequest r, IReadOnlyList<string> lines, TextWriter log)
    {
        var exit = lines.LastOrDefault(l => l.StartsWith(ExitMarker, StringComparison.Ordinal));
        var output = lines.Where(l => !l.StartsWith(ExitMarker, StringComparison.Ordinal)).ToList();
        var diagnostics = GccDiagnostics.Parse(output).ToList();
        foreach (var line in output)
        {
            if (SegmentDoesNotFit().Match(line) is { Success: true } segment)
            {
                diagnostics.Add(new Diagnostic(Severity.Error, ErrorCodes.RamOverBudget,
                    $"RAM over budget: {segment.Groups["segment"].Value} segment data does not fit (ESP-IDF's linker script for {r.Board.Name})"));
            }
            else if (PartitionTooSmall().Match(line) is { Success: true } partition)
            {
                var size = Convert.ToInt64(partition.Groups["size"].Value, 16);
                diagnostics.Add(new Diagnostic(Severity.Error, ErrorCodes.FlashOverBudget, string.Create(CultureInfo.InvariantCulture,
                    $"flash over budget: the app image {partition.Groups["bin"].Value} ({size:N0} B) does not fit the app partition (ESP-IDF's check_sizes.py: {line.Trim()})")));
            }
        }

        foreach (var d in diagnostics)
        {
            log.WriteLine(d.ToCanonicalString());
        }

        if (exit is null)
        {
            return;
        }

        var code = exit[ExitMarker.Length..];
        var budget = diagnostics.FirstOrDefault(d => d.Code is ErrorCodes.FlashOverBudget or ErrorCodes.RamOverBudget && d.Severity == Severity.Error);
        if (budget is not null)
        {
            throw new TinyMLException(budget.Code, $"the ESP-IDF image for board '{r.Board.Name}' does not fit: {budget.Message}");
        }

        var first = diagnostics.FirstOrDefault(d => d.Severity == Severity.Error);
        var tail = string.Join(" | ", output.Where(l => l.Trim().Length > 0).TakeLast(3).Select(l => l.Trim()));
        throw new TinyMLException(first?.Code ?? ErrorCodes.EspIdfBuildFailed,
            $"idf.py build failed for board '{r.Board.Name}' (exit code {code}){(first is null ? $": {tail}" : "")}; if ESP-IDF's environment is not active, run . $IDF_PATH/export.sh first");
    }

    /// <summary>The image ESP-IDF reports in project_description.json (named after the CMake project), else the .NET project's name.</summary>
    private static (string? Elf, string? Bin) Outputs(EspIdfRequest r, string buildDir)
    {
        string? elf = null, bin = null;
        var description = Path.Combine(buildDir, "project_description.json");
        if (File.Exists(description))
        {
            try
            {
                var json = JsonNode.Parse(File.ReadAllText(description));
                elf = json?["app_elf"]?.GetValue<string>();
                bin = json?["app_bin"]?.GetValue<string>();
            }
            catch (JsonException)
            {
                // Fall back to the project's name below.
            }
        }

        return (Path.Combine(buildDir, elf ?? r.ProjectName + ".elf"), Path.Combine(buildDir, bin ?? r.ProjectName + ".bin"));
    }

    private static void DeleteImages(EspIdfRequest r, string buildDir)
    {
        if (!Directory.Exists(buildDir))
        {
            return;
        }

        var (elf, bin) = Outputs(r, buildDir);
        foreach (var image in new[] { elf, bin })
        {
            if (image is not null && File.Exists(image))
            {
                File.Delete(image);
            }
        }
    }

    private static string? FindOnPath(string path, string name) =>
        path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string Quote(string argument) => argument.Contains(' ', StringComparison.Ordinal) ? $"\"{argument}\"" : argument;

    [GeneratedRegex(@"^CONFIG_IDF_TARGET=""(?<target>[^""]*)""\s*$")]
    private static partial Regex SdkconfigTarget();

    [GeneratedRegex(@"^\s*project\s*\(", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex ProjectCall();

    [GeneratedRegex(@"\b(?<segment>DRAM|IRAM0?|D/IRAM) segment data does not fit")]
    private static partial Regex SegmentDoesNotFit();

    [GeneratedRegex(@"partitions? (?:is|are) too small for binary (?<bin>\S+) size (?<size>0x[0-9a-fA-F]+)")]
    private static partial Regex PartitionTooSmall();
}
