using System.Security.Cryptography;
using System.Text;
using TinyML.Pipeline;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Every file the compiler writes (C source, header, report, memory SVG) for the demo and the shared models, float32 and
/// int8, on a DSP core, a portable core and Helium, hashed against <c>GeneratedCode.sha256</c> beside this file. A
/// refactoring that must not change behaviour (one IR for every precision, issue 14) keeps every hash; a change that
/// means to alter the output regenerates the manifest and shows it in its diff:
/// <code>TINYML_UPDATE_GENERATED_HASHES=1 dotnet test --project tests/TinyML.Tests -c Release --filter "FullyQualifiedName~GeneratedCodeHashTests"</code>
/// Int8 cases are models that carry their own scales (TFLite's QDQ exports): a model calibrated here takes its ranges
/// from ONNX Runtime, whose float kernels differ in the last bits between CPUs (AVX2, AVX-512), so its bytes are only
/// reproducible on one machine; the quantizer's arithmetic after calibration is covered by the golden-numerics tests.
/// </summary>
[TestClass]
public sealed class GeneratedCodeHashTests
{
    private static string ManifestPath => Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "EndToEnd", "GeneratedCode.sha256");

    private static string Demo => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    /// <summary>The demo's cases: need nothing outside the repository (the float32 digits model on a DSP, a portable and
    /// a Helium core).</summary>
    private static IEnumerable<(string Case, CompileOptions Options)> DemoCases()
    {
        var model = Path.Combine(Demo, "digits.onnx");
        foreach (var board in new[] { "nrf52840", "esp32c3", "corstone300" })
        {
            yield return ($"digits-float32-{board}", new CompileOptions { ModelPath = model, Name = "digits", Precision = ModelPrecision.Float32, Board = board });
        }
    }

    /// <summary>The shared models' cases: TFLite's int8 exports on the three kernel families, the float KWS.</summary>
    private static IEnumerable<(string Case, CompileOptions Options)> SharedCases(string shared)
    {
        string Model(string folder) => Path.Combine(shared, "models", folder, "model.onnx");
        foreach (var (key, folder) in new[] { ("kws", "mlperf_tiny_kws_dscnn_int8_qdq"), ("vww", "mlperf_tiny_vww_mobilenetv1_025_int8_qdq"), ("ic", "mlperf_tiny_ic_resnet8_int8_qdq"), ("ad", "mlperf_tiny_ad_fc_autoencoder_int8_qdq") })
        {
            foreach (var board in new[] { "nrf52840", "esp32c3", "corstone300" })
            {
                yield return ($"{key}-qdq-{board}", new CompileOptions { ModelPath = Model(folder), Name = key, Board = board });
            }
        }

        yield return ("kws-float32-nrf52840", new CompileOptions { ModelPath = Model("mlperf_tiny_kws_dscnn"), Name = "kws", Precision = ModelPrecision.Float32, Board = "nrf52840" });
    }

    [TestMethod]
    public void Demo_generated_files_keep_their_hashes() => Check("digits-", DemoCases());

    [TestMethod]
    public void Shared_models_generated_files_keep_their_hashes()
    {
        var shared = TestPaths.SharedOrSkip("models");
        Check("", SharedCases(Path.GetDirectoryName(shared)!));
    }

    /// <summary>Compiles the cases, hashes what they wrote, compares with the manifest's lines of the same cases (or
    /// rewrites those lines when asked to).</summary>
    private static void Check(string prefix, IEnumerable<(string Case, CompileOptions Options)> cases)
    {
        var work = TestPaths.NewTempDir("hashes");
        var actual = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var (name, options) in cases)
        {
            names.Add(name);
            var output = Path.Combine(work, name);
            ModelCompiler.Compile(options with { OutputDirectory = output }, TextWriter.Null);

            foreach (var file in Directory.GetFiles(output).Order(StringComparer.Ordinal))
            {
                actual[$"{name}/{Path.GetFileName(file)}"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
            }
        }

        lock (ManifestLock)
        {
            Compare(prefix, names, actual);
        }
    }

    /// <summary>The two tests may run in parallel; their manifest updates must not interleave.</summary>
    private static readonly Lock ManifestLock = new();

    private static void Compare(string prefix, List<string> names, SortedDictionary<string, string> actual)
    {
        var manifest = ReadManifest();
        bool Mine(string key) => names.Any(n => key.StartsWith(n + "/", StringComparison.Ordinal)) || (prefix.Length > 0 && key.StartsWith(prefix, StringComparison.Ordinal));
        var expected = manifest.Where(kv => Mine(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

        if (Environment.GetEnvironmentVariable("TINYML_UPDATE_GENERATED_HASHES") == "1")
        {
            foreach (var key in expected.Keys)
            {
                manifest.Remove(key);
            }

            foreach (var (key, hash) in actual)
            {
                manifest[key] = hash;
            }

            File.WriteAllText(ManifestPath, string.Concat(manifest.Select(kv => $"{kv.Value}  {kv.Key}\n")));
            Assert.Inconclusive($"UPDATED: {actual.Count} hashes written to {ManifestPath}");
        }

        var differences = new List<string>();
        foreach (var (key, hash) in actual)
        {
            if (!expected.TryGetValue(key, out var want))
            {
                differences.Add($"new file {key}");
            }
            else if (want != hash)
            {
                differences.Add($"changed {key}");
            }
        }

        differences.AddRange(expected.Keys.Where(k => !actual.ContainsKey(k)).Select(k => $"no longer written {k}"));
        Assert.IsEmpty(differences,
            "generated code differs from GeneratedCode.sha256 (if the change is intended, regenerate it: TINYML_UPDATE_GENERATED_HASHES=1 and this test):\n  "
            + string.Join("\n  ", differences));
        Assert.IsGreaterThanOrEqualTo(names.Count * 2, actual.Count, "every case writes at least its .c and .h");
    }

    private static SortedDictionary<string, string> ReadManifest()
    {
        var manifest = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(ManifestPath))
        {
            return manifest;
        }

        foreach (var line in File.ReadAllLines(ManifestPath, Encoding.UTF8).Where(l => l.Length > 0))
        {
            var split = line.IndexOf("  ", StringComparison.Ordinal);
            manifest[line[(split + 2)..]] = line[..split];
        }

        return manifest;
    }
}
