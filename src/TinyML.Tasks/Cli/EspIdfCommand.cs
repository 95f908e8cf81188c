using TinyML.Firmware;
using TinyML.Firmware.EspIdf;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc espidf</c>: write the model as the ESP-IDF component <c>tinyml</c> and run <c>idf.py build</c> on the
/// project folder (an ESP-IDF project), or stop with TML5001 when ESP-IDF is not installed.
/// <code>
///   tinymlc espidf --board esp32c3 --name App --project-dir . --model-source obj/.../digits.c --model-header obj/.../digits.h
///                  --report obj/.../digits.report.json --kernels kernels/ --component-dir obj/esp-idf/tinyml
///                  --build-dir bin/Debug/esp32c3/esp-idf [--define X=1 ...] [--idf-build false]
/// </code>
/// </summary>
public static class EspIdfCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var board = Boards.Get(args.Require("board"));
        var projectDir = args.Require("project-dir");
        var request = new EspIdfRequest(
            Board: board,
            ProjectName: args.Require("name"),
            ProjectDirectory: projectDir,
            ModelSources: args.GetAll("model-source"),
            ModelHeaders: args.GetAll("model-header"),
            ModelReports: args.GetAll("report"),
            Defines: args.GetAll("define"),
            KernelsRoot: args.Require("kernels"),
            ComponentDirectory: args.Get("component-dir") ?? Path.Combine(projectDir, EspIdfProject.DefaultComponentDirectory),
            BuildDirectory: args.Require("build-dir"),
            RunIdfPy: !string.Equals(args.Get("idf-build"), "false", StringComparison.OrdinalIgnoreCase));
        if (request.ModelSources.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.EspIdfProjectInvalid, "tinymlc espidf: no --model-source: an ESP-IDF board's component holds the generated model (add a TinyModel item)");
        }

        EspIdfProject.Build(request, log);
        return 0;
    }
}
