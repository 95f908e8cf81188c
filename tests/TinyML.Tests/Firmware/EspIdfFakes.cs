using System.Diagnostics;
using System.Globalization;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// Stand-ins for the parts of ESP-IDF this machine does not have, used to check what the SDK generates as far as
/// possible without it (what remains unverified is listed in docs/sdk.md, "ESP32 family"):
/// <list type="bullet">
/// <item>a fake <c>$IDF_PATH/tools/cmake/project.cmake</c> whose <c>project()</c>, <c>idf_component_register()</c> and
/// friends record what the project's CMake files declare, for <c>cmake -P</c> (script mode) on the real files;</item>
/// <item>stub ESP-IDF headers declaring the ESP-IDF v5 API the board support uses (<c>esp_cpu_get_cycle_count</c>,
/// <c>uxTaskGetStackHighWaterMark</c>, <c>pcTaskGetName</c>, sdkconfig.h), to compile the component with the
/// RISC-V (ESP32-C3's ISA) and Xtensa (lx106) cross compilers;</item>
/// <item>a fake <c>idf.py</c> that records its arguments, working folder and environment, and writes what a build
/// writes (project_description.json, the .elf/.bin) or prints a chosen ESP-IDF error.</item>
/// </list>
/// </summary>
internal static class EspIdfFakes
{
    /// <summary>What a project's CMake files declared, as read by the fake project.cmake.</summary>
    public sealed record CMakeManifest(string Project, IReadOnlyList<(string Component, string Directory)> Components,
        IReadOnlyList<(string Component, string Source)> Sources, IReadOnlyList<(string Component, string Directory)> IncludeDirs,
        IReadOnlyList<(string Component, string Requirement)> Requires, IReadOnlyList<string> StrictSources, IReadOnlyList<string> Options);

    public static void RequireCMake()
    {
        if (Toolchain.FindOnPath("cmake") is null)
        {
            Assert.Inconclusive("SKIPPED: cmake not installed (sudo apt-get install cmake)");
        }
    }

    /// <summary>Writes a fake IDF_PATH; returns its root.</summary>
    public static string WriteFakeIdf()
    {
        var root = TestPaths.NewTempDir("fake-idf");
        Directory.CreateDirectory(Path.Combine(root, "tools", "cmake"));
        File.WriteAllText(Path.Combine(root, "tools", "cmake", "project.cmake"), """
            # Fake ESP-IDF for tests: enough of tools/cmake/project.cmake to read a project's CMake files in script mode
            # (cmake -P). It checks what ESP-IDF would reject (missing sources or include folders, unknown arguments,
            # EXTRA_COMPONENT_DIRS that do not exist) and records the rest in ${TINYML_MANIFEST}.
            set(_tinyml_manifest "${TINYML_MANIFEST}")
            file(WRITE "${_tinyml_manifest}" "")
            function(idf_component_register)
              cmake_parse_arguments(ARG "" "" "SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES;EMBED_FILES" ${ARGN})
              if(ARG_UNPARSED_ARGUMENTS)
                message(FATAL_ERROR "idf_component_register: unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
              endif()
              get_filename_component(name "${CMAKE_CURRENT_LIST_DIR}" NAME)
              file(APPEND "${_tinyml_manifest}" "component|${name}|${CMAKE_CURRENT_LIST_DIR}\n")
              foreach(src ${ARG_SRCS})
                if(NOT EXISTS "${CMAKE_CURRENT_LIST_DIR}/${src}")
                  message(FATAL_ERROR "${name}: SRCS lists ${src}, which does not exist")
                endif()
                file(APPEND "${_tinyml_manifest}" "src|${name}|${CMAKE_CURRENT_LIST_DIR}/${src}\n")
              endforeach()
              foreach(dir ${ARG_INCLUDE_DIRS} ${ARG_PRIV_INCLUDE_DIRS})
                if(NOT IS_DIRECTORY "${CMAKE_CURRENT_LIST_DIR}/${dir}")
                  message(FATAL_ERROR "${name}: include folder ${dir} does not exist")
                endif()
                file(APPEND "${_tinyml_manifest}" "include|${name}|${CMAKE_CURRENT_LIST_DIR}/${dir}\n")
              endforeach()
              foreach(req ${ARG_REQUIRES} ${ARG_PRIV_REQUIRES})
                file(APPEND "${_tinyml_manifest}" "requires|${name}|${req}\n")
              endforeach()
              set(COMPONENT_LIB "__idf_${name}" PARENT_SCOPE)
            endfunction()
            function(target_compile_options target)
              if(NOT target MATCHES "^__idf_")
                message(FATAL_ERROR "target_compile_options on ${target}, not a component library")
              endif()
              file(APPEND "${_tinyml_manifest}" "options|${ARGN}\n")
            endfunction()
            function(target_compile_definitions target)
              file(APPEND "${_tinyml_manifest}" "defines|${ARGN}\n")
            endfunction()
            function(set_source_files_properties)
              set(files "")
              foreach(arg ${ARGN})
                if(arg STREQUAL "PROPERTIES")
                  break()
                endif()
                if(NOT EXISTS "${CMAKE_CURRENT_LIST_DIR}/${arg}")
                  message(FATAL_ERROR "set_source_files_properties: ${arg} does not exist")
                endif()
                file(APPEND "${_tinyml_manifest}" "strict|${CMAKE_CURRENT_LIST_DIR}/${arg}\n")
              endforeach()
            endfunction()
            macro(project name)
              file(APPEND "${_tinyml_manifest}" "project|${name}\n")
              if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/main/CMakeLists.txt")
                include("${CMAKE_CURRENT_LIST_DIR}/main/CMakeLists.txt")
              endif()
              foreach(dir ${EXTRA_COMPONENT_DIRS})
                if(NOT EXISTS "${dir}")
                  message(FATAL_ERROR "Directory specified in EXTRA_COMPONENT_DIRS doesn't exist: ${dir}")
                endif()
                include("${dir}/CMakeLists.txt")
              endforeach()
            endmacro()
            """);
        return root;
    }

    /// <summary>Runs <c>cmake -P</c> on <paramref name="cmakeLists"/> with the fake ESP-IDF; returns exit code and output.</summary>
    public static (int ExitCode, string Output, string Manifest) RunCMakeScript(string cmakeLists, string fakeIdf)
    {
        var manifest = Path.Combine(TestPaths.NewTempDir("cmake-manifest"), "manifest.txt");
        var info = new ProcessStartInfo("cmake") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(cmakeLists)! };
        info.ArgumentList.Add("-DTINYML_MANIFEST=" + manifest);
        info.ArgumentList.Add("-P");
        info.ArgumentList.Add(cmakeLists);
        info.Environment["IDF_PATH"] = fakeIdf;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error, manifest);
    }

    public static CMakeManifest ReadManifest(string manifest)
    {
        var lines = File.ReadAllLines(manifest).Select(l => l.Split('|')).ToList();
        return new CMakeManifest(
            lines.Single(l => l[0] == "project")[1],
            lines.Where(l => l[0] == "component").Select(l => (l[1], l[2])).ToList(),
            lines.Where(l => l[0] == "src").Select(l => (l[1], l[2])).ToList(),
            lines.Where(l => l[0] == "include").Select(l => (l[1], l[2])).ToList(),
            lines.Where(l => l[0] == "requires").Select(l => (l[1], l[2])).ToList(),
            lines.Where(l => l[0] == "strict").Select(l => Path.GetFullPath(l[1])).ToList(),
            lines.Where(l => l[0] == "options").Select(l => l[1]).ToList());
    }

    /// <summary>
    /// Stub ESP-IDF headers with the v5 declarations the board support and the template use; returns the folder.
    /// CONFIG_* values are ESP-IDF's defaults for the ESP32-C3 (and this template's main task stack).
    /// </summary>
    public static string WriteStubIdfHeaders()
    {
        var dir = TestPaths.NewTempDir("idf-stubs");
        Directory.CreateDirectory(Path.Combine(dir, "freertos"));
        File.WriteAllText(Path.Combine(dir, "sdkconfig.h"), """
            #define CONFIG_IDF_TARGET "esp32c3"
            #define CONFIG_ESP_MAIN_TASK_STACK_SIZE 8192
            #define CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ 160
            """ + "\n");
        File.WriteAllText(Path.Combine(dir, "esp_cpu.h"), """
            /* ESP-IDF v5 components/esp_hw_support/include/esp_cpu.h, the one function the board support uses. */
            #include <stdint.h>
            typedef uint32_t esp_cpu_cycle_count_t;
            esp_cpu_cycle_count_t esp_cpu_get_cycle_count(void);
            """ + "\n");
        File.WriteAllText(Path.Combine(dir, "freertos", "FreeRTOS.h"), """
            #include <stdint.h>
            typedef unsigned int UBaseType_t;
            """ + "\n");
        File.WriteAllText(Path.Combine(dir, "freertos", "task.h"), """
            typedef void *TaskHandle_t;
            UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t xTask);
            char *pcTaskGetName(TaskHandle_t xTaskToQuery);
            """ + "\n");
        return dir;
    }

    /// <summary>A cross compiler and the flags for one of the ESP32 family's ISAs.</summary>
    public sealed record CrossCompiler(string Name, string Gcc, IReadOnlyList<string> Flags);

    /// <summary>The ESP32-C3's ISA (Debian's RISC-V gcc) and, when installed, Xtensa (Debian's lx106 gcc, the only Xtensa
    /// compiler here; the ESP32/ESP32-S3 are LX6/LX7, see docs/sdk.md).</summary>
    public static IEnumerable<CrossCompiler> CrossCompilers()
    {
        if (Toolchain.FindOnPath("riscv64-unknown-elf-gcc") is { } riscv)
        {
            yield return new CrossCompiler("rv32imc", riscv, ["-march=rv32imc_zicsr", "-mabi=ilp32", "--specs=picolibc.specs"]);
        }

        if (Toolchain.FindOnPath("xtensa-lx106-elf-gcc") is { } xtensa && File.Exists("/usr/lib/xtensa-lx106-elf/picolibc.specs"))
        {
            yield return new CrossCompiler("xtensa-lx106", xtensa, ["-mlongcalls", "--specs=/usr/lib/xtensa-lx106-elf/picolibc.specs"]);
        }
    }

    /// <summary>
    /// Compiles every source the manifest lists (-c, each with its component's include folders plus every public include
    /// folder of the components it requires, as ESP-IDF does) with -Wall -Wextra -Werror, ESP-IDF's default C standard
    /// (gnu17) and -O2. Returns the number of objects compiled; a compile error fails the test.
    /// </summary>
    public static int CompileManifest(CMakeManifest manifest, CrossCompiler compiler, string stubHeaders)
    {
        var output = TestPaths.NewTempDir("idf-objects-" + compiler.Name);
        var count = 0;
        foreach (var (component, source) in manifest.Sources)
        {
            var includes = manifest.IncludeDirs.Where(i => i.Component == component
                || manifest.Requires.Any(r => r.Component == component && r.Requirement == i.Component)).Select(i => i.Directory);
            var args = new List<string>(compiler.Flags) { "-std=gnu17", "-O2", "-Wall", "-Wextra", "-Werror", "-c", source, "-o", Path.Combine(output, $"{count}.o"), "-I" + stubHeaders };
            args.AddRange(includes.Select(i => "-I" + i));
            var info = new ProcessStartInfo(compiler.Gcc) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            args.ForEach(info.ArgumentList.Add);
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.AreEqual(0, process.ExitCode, $"{compiler.Name}: {Path.GetFileName(source)} does not compile:\n{compiler.Gcc} {string.Join(' ', args)}\n{stderr}{stdout.Result}");
            count++;
        }

        return count;
    }

    /// <summary>
    /// Writes an executable fake <c>idf.py</c> into a fresh folder (to prepend to PATH); returns the folder. It appends
    /// its arguments (one per line), working folder and IDF_COMPONENT_MANAGER to <c>&lt;folder&gt;/calls.log</c>. With
    /// <paramref name="failWith"/> it prints those lines and exits 2; otherwise it writes, in the -B folder,
    /// project_description.json naming &lt;<paramref name="projectName"/>&gt;.elf/.bin and those two files.
    /// </summary>
    public static string WriteFakeIdfPy(string projectName, string? failWith = null)
    {
        var dir = TestPaths.NewTempDir("fake-idf-py");
        var script = Path.Combine(dir, "idf.py");
        var fail = failWith is null ? "" : $"""
            cat <<'TINYML_EOF'
            {failWith}
            TINYML_EOF
            exit 2
            """;
        File.WriteAllText(script, $$"""
            #!/bin/sh
            # Fake idf.py (TinyML.Sdk tests): records the call, then behaves like a build.
            log="{{dir}}/calls.log"
            {
              echo "call"
              echo "cwd=$(pwd)"
              echo "IDF_COMPONENT_MANAGER=${IDF_COMPONENT_MANAGER-<unset>}"
              for a in "$@"; do echo "arg=$a"; done
            } >> "$log"
            build=""
            prev=""
            for a in "$@"; do
              if [ "$prev" = "-B" ]; then build="$a"; fi
              prev="$a"
            done
            echo "Executing action: all (aliases: build)"
            {{fail}}
            mkdir -p "$build"
            printf '{"app_elf": "{{projectName}}.elf", "app_bin": "{{projectName}}.bin"}\n' > "$build/project_description.json"
            printf 'ELF' > "$build/{{projectName}}.elf"
            head -c 180000 /dev/zero > "$build/{{projectName}}.bin"
            echo "{{projectName}}.bin binary size 0x2bf20 bytes. Smallest app partition is 0x100000 bytes. 0xd40e0 bytes (83%) free."
            echo "Project build complete."
            exit 0
            """.Replace("\r\n", "\n", StringComparison.Ordinal));
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("SKIPPED: the fake idf.py is a POSIX shell script");
        }
        else
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return dir;
    }

    /// <summary>The calls the fake idf.py recorded: per call, its working folder, IDF_COMPONENT_MANAGER and arguments.</summary>
    public static List<(string Cwd, string ComponentManager, List<string> Args)> ReadCalls(string fakeDir)
    {
        var calls = new List<(string, string, List<string>)>();
        var log = Path.Combine(fakeDir, "calls.log");
        if (!File.Exists(log))
        {
            return calls;
        }

        foreach (var line in File.ReadAllLines(log))
        {
            if (line == "call")
            {
                calls.Add(("", "", []));
            }
            else if (line.StartsWith("cwd=", StringComparison.Ordinal))
            {
                calls[^1] = (line[4..], calls[^1].Item2, calls[^1].Item3);
            }
            else if (line.StartsWith("IDF_COMPONENT_MANAGER=", StringComparison.Ordinal))
            {
                calls[^1] = (calls[^1].Item1, line["IDF_COMPONENT_MANAGER=".Length..], calls[^1].Item3);
            }
            else if (line.StartsWith("arg=", StringComparison.Ordinal))
            {
                calls[^1].Item3.Add(line[4..]);
            }
        }

        return calls;
    }

    /// <summary>Every file below <paramref name="root"/> except under the given top-level folders (relative, sorted).</summary>
    public static List<string> FilesOutside(string root, params string[] excludedTopFolders) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !excludedTopFolders.Any(x => f.StartsWith(x + "/", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();

    public static string Hex(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
