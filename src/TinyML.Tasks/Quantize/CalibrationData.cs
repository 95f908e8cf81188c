using System.Buffers.Binary;
using System.IO.Compression;
using TinyML.Import;

namespace TinyML.Quantize;

/// <summary>
/// Loads float samples (calibration or validation inputs) from a folder (every .npy, .npz and .bin in it), a single
/// file, or a file pattern with * / ? in the last path segment. Files are read in ordinal file-name order (and the
/// arrays of an .npz in ordinal entry-name order) so calibration is reproducible. Formats:
/// <list type="bullet">
/// <item>.npy: one sample (with or without the batch dimension) or a batch [N, ...];</item>
/// <item>.npz: a zip of such .npy arrays (numpy.savez);</item>
/// <item>.bin: raw little-endian float32, a whole number of samples back to back (the shape comes from the model).</item>
/// </list>
/// </summary>
public static class CalibrationData
{
    /// <summary>Loads calibration samples (<c>CalibrationData</c>): a missing path is TML2011, no usable sample TML2012,
    /// a bad file or a non-finite value TML2002 naming the file and sample.</summary>
    public static LoadedSamples Load(string folderOrGlobOrFile, int[] inputShape, int maxSamples) =>
        Load(folderOrGlobOrFile, inputShape, maxSamples, SampleSet.Calibration);

    /// <summary>Loads samples for <paramref name="set"/>; the errors use that setting's name and codes.</summary>
    public static LoadedSamples Load(string folderOrGlobOrFile, int[] inputShape, int maxSamples, SampleSet set)
    {
        var files = ResolveFiles(folderOrGlobOrFile, set);
        if (files.Count == 0)
        {
            throw new TinyMLException(set.EmptyCode,
                $"{set.Setting} '{folderOrGlobOrFile}'{Resolved(folderOrGlobOrFile)} holds no .npy/.npz/.bin sample files; {set.Advice}",
                file: folderOrGlobOrFile);
        }

        // The batch dimension is optional in files: a sample of [1,1,49,10] may be saved as [1,49,10].
        var sampleShape = inputShape.Length > 0 && inputShape[0] == 1 ? inputShape[1..] : inputShape;
        var sampleSize = sampleShape.Aggregate(1, (a, b) => checked(a * b));
        var samples = new LoadedSamples();
        foreach (var file in files)
        {
            if (maxSamples > 0 && samples.Count >= maxSamples)
            {
                break;
            }

            foreach (var (source, values, sampleCount) in ReadFile(file, inputShape, sampleShape, sampleSize, set))
            {
                for (var i = 0; i < sampleCount && (maxSamples <= 0 || samples.Count < maxSamples); i++)
                {
                    var sample = values.AsSpan(i * sampleSize, sampleSize).ToArray();
                    var origin = sampleCount == 1 ? $"'{source}'" : string.Create(CultureInfo.InvariantCulture, $"'{source}' sample {i}");
                    CheckFinite(sample, origin, file, set);
                    samples.Add(sample, origin);
                }
            }
        }

        if (samples.Count == 0)
        {
            throw new TinyMLException(set.EmptyCode,
                $"{set.Setting} '{folderOrGlobOrFile}' holds no samples: its {files.Count} file(s) contain empty arrays; {set.Advice}", file: folderOrGlobOrFile);
        }

        return samples;
    }

    /// <summary>" (= /full/path)" when the path as given is relative, so the user sees where it was looked for.</summary>
    private static string Resolved(string path) =>
        Path.IsPathFullyQualified(path) ? "" : $" (= {Path.GetFullPath(path)})";

    /// <summary>A NaN or infinity in an input makes every range (or accuracy figure) computed from it meaningless.</summary>
    private static void CheckFinite(float[] sample, string origin, string file, SampleSet set)
    {
        var bad = Array.FindIndex(sample, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            throw new TinyMLException(set.BadFileCode,
                string.Create(CultureInfo.InvariantCulture, $"{set.Setting} {origin} holds {sample[bad]} at element {bad}; inputs must be finite numbers"), file: file);
        }
    }

    /// <summary>The arrays of one file, each with the samples it holds; the shape and dtype are checked here.</summary>
    private static IEnumerable<(string Source, float[] Values, int SampleCount)> ReadFile(string file, int[] inputShape, int[] sampleShape, int sampleSize, SampleSet set)
    {
        if (file.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            yield return ReadRawFloat32(file, sampleSize, set);
            yield break;
        }

        if (file.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var (entryName, bytes) in NpzEntries(file, set))
            {
                var source = $"{file}:{entryName}";
                yield return Checked(source, Npy.Read(bytes, source), inputShape, sampleShape, set);
            }

            yield break;
        }

        yield return Checked(file, Npy.Read(file), inputShape, sampleShape, set);
    }

    private static (string, float[], int) Checked(string source, NpyArray array, int[] inputShape, int[] sampleShape, SampleSet set)
    {
        if (array.Dtype is not ("<f4" or "<f8"))
        {
            throw new TinyMLException(set.BadFileCode,
                $"{set.Noun} file '{source}' has dtype {array.Dtype}; {set.Noun} samples must be float32 (or float64)", file: source);
        }

        var sampleCount = SamplesIn(array.Shape, inputShape, sampleShape) ?? throw new TinyMLException(set.BadFileCode,
            $"{set.Noun} file '{source}' has shape {Format(array.Shape)}; expected {Format(inputShape)} (one sample) or [N,{string.Join(",", sampleShape)}] (a batch of N samples)",
            file: source);
        return (source, array.ToFloat32(), sampleCount);
    }

    /// <summary>Raw float32 has no header, so the only check possible is that the size is a whole number of samples.</summary>
    private static (string, float[], int) ReadRawFloat32(string file, int sampleSize, SampleSet set)
    {
        var bytes = File.ReadAllBytes(file);
        var sampleBytes = (long)sampleSize * sizeof(float);
        if (bytes.Length == 0 || bytes.Length % sampleBytes != 0)
        {
            throw new TinyMLException(set.BadFileCode,
                $"{set.Noun} file '{file}' has {bytes.Length} bytes; raw float32 input must be a whole number of samples of {sampleSize} floats ({sampleBytes} bytes each)",
                file: file);
        }

        var values = new float[bytes.Length / sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float), sizeof(float)));
        }

        return (file, values, (int)(bytes.Length / sampleBytes));
    }

    /// <summary>The .npy members of an .npz archive in ordinal name order (the order numpy.savez wrote them is not kept by every tool).</summary>
    private static List<(string Name, byte[] Bytes)> NpzEntries(string file, SampleSet set)
    {
        try
        {
            using var archive = ZipFile.OpenRead(file);
            var entries = new List<(string, byte[])>();
            foreach (var entry in archive.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)).OrderBy(e => e.FullName, StringComparer.Ordinal))
            {
                using var stream = entry.Open();
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                entries.Add((entry.FullName, buffer.ToArray()));
            }

            return entries;
        }
        catch (InvalidDataException e)
        {
            throw new TinyMLException(set.BadFileCode, $"{set.Noun} file '{file}' is not a valid .npz (zip) archive: {e.Message}", file: file);
        }
    }

    /// <summary>How many samples an array of <paramref name="fileShape"/> holds, or null when it does not fit.</summary>
    private static int? SamplesIn(int[] fileShape, int[] inputShape, int[] sampleShape)
    {
        if (fileShape.SequenceEqual(inputShape) || fileShape.SequenceEqual(sampleShape))
        {
            return 1;
        }

        if (fileShape.Length == sampleShape.Length + 1 && fileShape.AsSpan(1).SequenceEqual(sampleShape))
        {
            return fileShape[0];
        }

        if (fileShape.Length == inputShape.Length + 1 && fileShape.AsSpan(1).SequenceEqual(inputShape))
        {
            return fileShape[0];
        }

        return null;
    }

    /// <summary>The sample files a folder, file or glob names; a path that names nothing at all is the setting's TML2011/TML2007.</summary>
    private static List<string> ResolveFiles(string folderOrGlobOrFile, SampleSet set)
    {
        if (Directory.Exists(folderOrGlobOrFile))
        {
            // Filter again: some platforms let "*.npy" also match longer extensions.
            return Sorted(Directory.GetFiles(folderOrGlobOrFile).Where(IsSampleFile));
        }

        if (File.Exists(folderOrGlobOrFile))
        {
            return [folderOrGlobOrFile];
        }

        var fileNamePattern = Path.GetFileName(folderOrGlobOrFile);
        var directory = Path.GetDirectoryName(folderOrGlobOrFile);
        directory = string.IsNullOrEmpty(directory) ? "." : directory;
        if (fileNamePattern.IndexOfAny(['*', '?']) < 0 || !Directory.Exists(directory))
        {
            throw new TinyMLException(set.NotFoundCode,
                $"{set.Setting} '{folderOrGlobOrFile}'{Resolved(folderOrGlobOrFile)} does not exist: name a folder, a file or a glob of .npy/.npz/.bin samples",
                file: folderOrGlobOrFile);
        }

        return Sorted(Directory.GetFiles(directory, fileNamePattern).Where(IsSampleFile));
    }

    private static bool IsSampleFile(string path) =>
        SampleExtensions.Any(extension => path.EndsWith(extension, StringComparison.OrdinalIgnoreCase));

    private static readonly string[] SampleExtensions = [".npy", ".npz", ".bin"];

    /// <summary>Ordinal by file name, so the order never depends on the file system or culture.</summary>
    private static List<string> Sorted(IEnumerable<string> files) =>
        files.OrderBy(Path.GetFileName, StringComparer.Ordinal).ThenBy(f => f, StringComparer.Ordinal).ToList();

    private static string Format(int[] shape) => $"[{string.Join(",", shape)}]";
}

/// <summary>Which setting a sample set comes from: its name in messages and its diagnostic codes.</summary>
public sealed record SampleSet(string Setting, string Noun, string NotFoundCode, string EmptyCode, string BadFileCode, string Advice)
{
    public static SampleSet Calibration { get; } = new("CalibrationData", "calibration", ErrorCodes.CalibrationDataNotFound, ErrorCodes.CalibrationDataEmpty,
        ErrorCodes.BadCalibrationFile, "give representative inputs, or remove CalibrationData to build with random ranges (warning TML2001)");

    public static SampleSet Validation { get; } = new("ValidationData", "validation", ErrorCodes.BadValidationData, ErrorCodes.BadValidationData,
        ErrorCodes.BadValidationData, "give held-out inputs, or remove ValidationData to report on the calibration samples");
}

/// <summary>Loaded samples with where each came from, so a later error can name the file and sample.</summary>
public sealed class LoadedSamples : IReadOnlyList<float[]>
{
    private readonly List<float[]> _samples = [];
    private readonly List<string> _origins = [];

    public int Count => _samples.Count;

    public float[] this[int index] => _samples[index];

    public void Add(float[] sample, string origin)
    {
        _samples.Add(sample);
        _origins.Add(origin);
    }

    /// <summary>"'calib/a.npy'" or "'calib/batch.npy' sample 3".</summary>
    public string Origin(int index) => _origins[index];

    /// <summary>Where sample <paramref name="index"/> of any sample list came from, as precisely as it is known.</summary>
    public static string Describe(IReadOnlyList<float[]> samples, int index) =>
        samples is LoadedSamples loaded && index >= 0 && index < loaded.Count
            ? string.Create(CultureInfo.InvariantCulture, $"calibration sample {index} ({loaded.Origin(index)})")
            : string.Create(CultureInfo.InvariantCulture, $"calibration sample {index}");

    public IEnumerator<float[]> GetEnumerator() => _samples.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
