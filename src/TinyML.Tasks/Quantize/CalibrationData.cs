using TinyML.Diagnostics;
using TinyML.Import;

namespace TinyML.Quantize;

/// <summary>
/// Loads float calibration samples from .npy files: a folder (every *.npy in it), a single file, or a file pattern
/// with * / ? in the last path segment. Files are read in ordinal file-name order so calibration is reproducible.
/// </summary>
public static class CalibrationData
{
    public static IReadOnlyList<float[]> Load(string folderOrGlobOrFile, int[] inputShape, int maxSamples)
    {
        var files = ResolveFiles(folderOrGlobOrFile);
        if (files.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.NoCalibrationData,
                $"no .npy calibration files found at '{folderOrGlobOrFile}'", file: folderOrGlobOrFile);
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

            var array = Npy.Read(file);
            if (array.Dtype is not ("<f4" or "<f8"))
            {
                throw new TinyMLException(ErrorCodes.BadCalibrationFile,
                    $"calibration file '{file}' has dtype {array.Dtype}; calibration samples must be float32 (or float64)", file: file);
            }

            var sampleCount = SamplesIn(array.Shape, inputShape, sampleShape) ?? throw new TinyMLException(ErrorCodes.BadCalibrationFile,
                $"calibration file '{file}' has shape {Format(array.Shape)}; expected {Format(inputShape)} (one sample) or [N,{string.Join(",", sampleShape)}] (a batch of N samples)",
                file: file);

            var values = array.ToFloat32();
            for (var i = 0; i < sampleCount && (maxSamples <= 0 || samples.Count < maxSamples); i++)
            {
                samples.Add(values.AsSpan(i * sampleSize, sampleSize).ToArray());
            }
        }

        return samples;
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
            return Sorted(Directory.GetFiles(folderOrGlobOrFile, "*.npy").Where(f => f.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)));
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

    /// <summary>Ordinal by file name, so the order never depends on the file system or culture.</summary>
    private static List<string> Sorted(IEnumerable<string> files) =>
        files.OrderBy(Path.GetFileName, StringComparer.Ordinal).ThenBy(f => f, StringComparer.Ordinal).ToList();

    private static string Format(int[] shape) => $"[{string.Join(",", shape)}]";
}
