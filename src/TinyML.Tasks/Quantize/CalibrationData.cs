using System.Buffers.Binary;
using System.IO.Compression;
using TinyML.Diagnostics;
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
    public static IReadOnlyList<float[]> Load(string folderOrGlobOrFile, int[] inputShape, int maxSamples)
    {
        var files = ResolveFiles(folderOrGlobOrFile);
        if (files.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.NoCalibrationData,
                $"no .npy/.npz/.bin calibration files found at '{folderOrGlobOrFile}'", file: folderOrGlobOrFile);
        }

        // The batch dimension is optional in files: a sample of [1,1,49,10] may be saved as [1,49,10].
        var sampleShape = inputShape.Length > 0 && inputShape[0] == 1 ? inputShape[1..] : inputShape;
        var sampleSize = sampleShape.Aggregate(1, (a, b) => checked(a * b));
        var samples = new List<float[]>();
        foreach (var file in files)
        {
            if (maxSamples > 0 && samples.Count >= maxSamples)
            {
                break;
            }

            foreach (var (_, values, sampleCount) in ReadFile(file, inputShape, sampleShape, sampleSize))
            {
                for (var i = 0; i < sampleCount && (maxSamples <= 0 || samples.Count < maxSamples); i++)
                {
                    samples.Add(values.AsSpan(i * sampleSize, sampleSize).ToArray());
                }
            }
        }

        return samples;
    }

    /// <summary>The arrays of one file, each with the samples it holds; the shape and dtype are checked here.</summary>
    private static IEnumerable<(string Source, float[] Values, int SampleCount)> ReadFile(string file, int[] inputShape, int[] sampleShape, int sampleSize)
    {
        if (file.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            yield return ReadRawFloat32(file, sampleSize);
            yield break;
        }

        if (file.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var (entryName, bytes) in NpzEntries(file))
            {
                var source = $"{file}:{entryName}";
                yield return Checked(source, Npy.Read(bytes, source), inputShape, sampleShape);
            }

            yield break;
        }

        yield return Checked(file, Npy.Read(file), inputShape, sampleShape);
    }

    private static (string, float[], int) Checked(string source, NpyArray array, int[] inputShape, int[] sampleShape)
    {
        if (array.Dtype is not ("<f4" or "<f8"))
        {
            throw new TinyMLException(ErrorCodes.BadCalibrationFile,
                $"calibration file '{source}' has dtype {array.Dtype}; calibration samples must be float32 (or float64)", file: source);
        }

        var sampleCount = SamplesIn(array.Shape, inputShape, sampleShape) ?? throw new TinyMLException(ErrorCodes.BadCalibrationFile,
            $"calibration file '{source}' has shape {Format(array.Shape)}; expected {Format(inputShape)} (one sample) or [N,{string.Join(",", sampleShape)}] (a batch of N samples)",
            file: source);
        return (source, array.ToFloat32(), sampleCount);
    }

    /// <summary>Raw float32 has no header, so the only check possible is that the size is a whole number of samples.</summary>
    private static (string, float[], int) ReadRawFloat32(string file, int sampleSize)
    {
        var bytes = File.ReadAllBytes(file);
        var sampleBytes = (long)sampleSize * sizeof(float);
        if (bytes.Length == 0 || bytes.Length % sampleBytes != 0)
        {
            throw new TinyMLException(ErrorCodes.BadCalibrationFile,
                $"calibration file '{file}' has {bytes.Length} bytes; raw float32 input must be a whole number of samples of {sampleSize} floats ({sampleBytes} bytes each)",
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
    private static List<(string Name, byte[] Bytes)> NpzEntries(string file)
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
            throw new TinyMLException(ErrorCodes.BadCalibrationFile, $"calibration file '{file}' is not a valid .npz (zip) archive: {e.Message}", file: file);
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

    private static List<string> ResolveFiles(string folderOrGlobOrFile)
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
        if (fileNamePattern.IndexOfAny(['*', '?']) < 0)
        {
            return [];
        }

        var directory = Path.GetDirectoryName(folderOrGlobOrFile);
        directory = string.IsNullOrEmpty(directory) ? "." : directory;
        return Directory.Exists(directory) ? Sorted(Directory.GetFiles(directory, fileNamePattern)) : [];
    }

    private static bool IsSampleFile(string path) =>
        SampleExtensions.Any(extension => path.EndsWith(extension, StringComparison.OrdinalIgnoreCase));

    private static readonly string[] SampleExtensions = [".npy", ".npz", ".bin"];

    /// <summary>Ordinal by file name, so the order never depends on the file system or culture.</summary>
    private static List<string> Sorted(IEnumerable<string> files) =>
        files.OrderBy(Path.GetFileName, StringComparer.Ordinal).ThenBy(f => f, StringComparer.Ordinal).ToList();

    private static string Format(int[] shape) => $"[{string.Join(",", shape)}]";
}
