using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Quantize;

namespace TinyML.Tests.Calibration;

[TestClass]
public sealed class CalibrationDataTests
{
    private static readonly int[] InputShape = [1, 2, 3];

    [TestMethod]
    public void FolderIsReadInOrdinalFileNameOrderSplittingBatches()
    {
        var dir = TestPaths.NewTempDir("calib");
        Npy.Write(Path.Combine(dir, "b.npy"), [1, 2, 3], Filled(6, 100));            // one sample with batch dim
        Npy.Write(Path.Combine(dir, "a.npy"), [2, 3], Filled(6, 0));                 // one sample without batch dim
        Npy.Write(Path.Combine(dir, "c.npy"), [3, 2, 3], Filled(18, 200));           // a batch of three
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "ignored");

        var samples = CalibrationData.Load(dir, InputShape, maxSamples: 0);

        Assert.HasCount(5, samples);
        Assert.AreEqual(0f, samples[0][0]);
        Assert.AreEqual(100f, samples[1][0]);
        Assert.AreEqual(200f, samples[2][0]);
        Assert.AreEqual(206f, samples[3][0]);
        Assert.AreEqual(217f, samples[4][5]);
        Assert.IsTrue(samples.All(s => s.Length == 6));
    }

    [TestMethod]
    public void MaxSamplesLimitsAndGlobSelectsFiles()
    {
        var dir = TestPaths.NewTempDir("calib");
        Npy.Write(Path.Combine(dir, "x1.npy"), [4, 2, 3], Filled(24, 0));
        Npy.Write(Path.Combine(dir, "y1.npy"), [2, 3], Filled(6, 500));

        Assert.HasCount(3, CalibrationData.Load(dir, InputShape, maxSamples: 3));
        Assert.HasCount(4, CalibrationData.Load(Path.Combine(dir, "x*.npy"), InputShape, maxSamples: 0));
        Assert.HasCount(1, CalibrationData.Load(Path.Combine(dir, "y1.npy"), InputShape, maxSamples: -1));
    }

    [TestMethod]
    public void ShapeMismatchIsTML2002NamingFileExpectedAndActual()
    {
        var dir = TestPaths.NewTempDir("calib");
        var path = Path.Combine(dir, "wrong.npy");
        Npy.Write(path, [1, 7], Filled(7, 0));

        var error = Assert.ThrowsExactly<TinyMLException>(() => CalibrationData.Load(dir, InputShape, 0));

        Assert.AreEqual(ErrorCodes.BadCalibrationFile, error.Code);
        Assert.AreEqual(path, error.File);
        StringAssert.Contains(error.Message, "wrong.npy");
        StringAssert.Contains(error.Message, "[1,7]");
        StringAssert.Contains(error.Message, "[1,2,3]");
    }

    [TestMethod]
    public void IntegerDtypeIsTML2002()
    {
        var dir = TestPaths.NewTempDir("calib");
        Npy.Write(Path.Combine(dir, "int.npy"), [1, 2, 3], new sbyte[6]);

        var error = Assert.ThrowsExactly<TinyMLException>(() => CalibrationData.Load(dir, InputShape, 0));

        Assert.AreEqual(ErrorCodes.BadCalibrationFile, error.Code);
        StringAssert.Contains(error.Message, "|i1");
    }

    [TestMethod]
    public void EmptyFolderIsTML2012()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => CalibrationData.Load(TestPaths.NewTempDir("calib"), InputShape, 0));

        Assert.AreEqual(ErrorCodes.CalibrationDataEmpty, error.Code, "TML2001 is only the warning for no CalibrationData at all");
    }

    [TestMethod]
    public void SharedKwsBatchFileSplitsIntoSamples()
    {
        var path = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/test_data/inputs.npy");

        var samples = CalibrationData.Load(path, [1, 1, 49, 10], maxSamples: 16);

        Assert.HasCount(16, samples);
        Assert.IsTrue(samples.All(s => s.Length == 490));
    }

    private static float[] Filled(int count, float start) => Enumerable.Range(0, count).Select(i => start + i).ToArray();
}
