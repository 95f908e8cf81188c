using System.Globalization;
using System.Text;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Tests.Import;

namespace TinyML.Tests.Integration;

/// <summary>
/// Keyword spotting from raw audio as one user project: a <c>TinyModel</c> whose ONNX graph is the log-mel front end
/// and the KWS net (<see cref="MelFrontEndTests"/>), the front end in float32 through <c>TinyLayerPrecision</c> items,
/// the rest int8, <c>dotnet build -t:Run</c> on the nRF52840 in QEMU. The firmware's output bytes must equal the C#
/// reference of the same compilation (fused multiply-add, as the Cortex-M4F computes).
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class AudioKwsProjectTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Kws_from_raw_audio_with_a_float_front_end_builds_as_one_project_and_runs_in_qemu()
    {
        var cancel = TestContext.CancellationToken;
        var feed = await LocalSdkFeed.GetAsync(cancel);
        var project = Path.Combine(feed.Root, "projects", "AudioKws-" + Guid.NewGuid().ToString("N")[..8]);
        var calib = Path.Combine(project, "calib");
        Directory.CreateDirectory(calib);
        var modelPath = MelFrontEndTests.Build(withKws: true).Save(project, "kws_audio.onnx");
        var calibration = MelFrontEndTests.Audio(16, 7);
        for (var i = 0; i < calibration.Count; i++)
        {
            Npy.Write(Path.Combine(calib, $"clip_{i:00}.npy"), [1, 1, calibration[i].Length], calibration[i]);
        }

        var clips = MelFrontEndTests.Audio(2, 101);
        var header = new StringBuilder($"#define CLIP_COUNT {clips.Count}\nstatic const float clips[CLIP_COUNT][{clips[0].Length}] = {{\n");
        foreach (var clip in clips)
        {
            header.Append("  { ").Append(string.Join(", ", clip.Select(TinyML.Emit.CText.FloatLiteral))).Append(" },\n");
        }

        await File.WriteAllTextAsync(Path.Combine(project, "clips.h"), header.Append("};\n").ToString(), cancel);
        await File.WriteAllTextAsync(Path.Combine(project, "main.c"), """
            #include <stdint.h>
            #include <stdio.h>
            #include "kws_audio.h"
            #include "tml_board.h"
            #include "clips.h"

            int main(void)
            {
                static int8_t input[TML_KWS_AUDIO_INPUT_SIZE];
                static int8_t output[TML_KWS_AUDIO_OUTPUT_SIZE];
                int i, k;
                tml_board_init();
                for (i = 0; i < CLIP_COUNT; i++) {
                    uint32_t start;
                    tml_kws_audio_quantize_input(clips[i], input);
                    start = tml_board_ticks();
                    if (tml_kws_audio_invoke(input, output) != 0) {
                        return 2;
                    }
                    printf("ticks %lu\n", (unsigned long)tml_board_elapsed(start, tml_board_ticks()));
                    printf("clip %d:", i);
                    for (k = 0; k < TML_KWS_AUDIO_OUTPUT_SIZE; k++) {
                        printf(" %d", (int)output[k]);
                    }
                    printf("\n");
                }
                return 0;
            }
            """, cancel);
        // One TinyLayerPrecision item per front-end layer (LayerPrecision="a=float;b=float" metadata with several
        // entries does not reach the compiler intact through MSBuild yet: it arrives as one argument).
        var layerItems = string.Join("\n    ", MelFrontEndTests.FrontEndInFloat.Split(';')
            .Select(entry => $"<TinyLayerPrecision Include=\"{entry.Split('=')[0]}\" Precision=\"float\" Model=\"kws_audio\" />"));
        await File.WriteAllTextAsync(Path.Combine(project, "AudioKws.csproj"), $"""
            <Project Sdk="TinyML.Sdk/{feed.Version}">
              <PropertyGroup>
                <TinyMLBoard>nrf52840</TinyMLBoard>
              </PropertyGroup>
              <ItemGroup>
                <TinyModel Include="kws_audio.onnx" CalibrationData="calib/" />
                {layerItems}
              </ItemGroup>
            </Project>
            """, cancel);

        var run = await feed.DotNetAsync(project, cancel, "build", "-t:Run", "-nr:false", "-v:n");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, "precision: log (", run.ToString());
        var lines = run.Output.Split('\n').Select(l => l.Trim()).ToList();
        var outputs = lines.Where(l => l.StartsWith("clip ", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => sbyte.Parse(v, CultureInfo.InvariantCulture)).ToArray())
            .ToList();
        Assert.HasCount(clips.Count, outputs, run.ToString());

        // The same compilation through the compiler's API: the C# reference the firmware must equal byte for byte.
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "kws_audio", OutputDirectory = Path.Combine(project, "reference"), CalibrationData = calib,
            MixedPrecision = new PrecisionSettings { Layers = PrecisionSettings.ParseLayers([MelFrontEndTests.FrontEndInFloat], "kws_audio") },
        }, TextWriter.Null);
        var input = compiled.Model.InputTensor;
        for (var i = 0; i < clips.Count; i++)
        {
            var quantized = clips[i].Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray();
            var expected = Int8Interpreter.RunAll(compiled.Model, [quantized], fusedMultiplyAdd: true)[compiled.Model.Output];
            CollectionAssert.AreEqual(expected, outputs[i], $"clip {i}: firmware built by the project differs from the C# reference\n{run}");
        }

        var ticks = lines.First(l => l.StartsWith("ticks ", StringComparison.Ordinal));
        Console.WriteLine($"AudioKws project (one TinyModel: log-mel front end float32 + KWS int8): dotnet build -t:Run on nrf52840 in QEMU, {clips.Count} clips byte-identical to the C# reference; {ticks} (x40 instructions)");
    }
}
