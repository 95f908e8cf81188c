using System.Text;
using TinyML.Diagnostics;
using TinyML.Import;

namespace TinyML.Tests.Import;

[TestClass]
public sealed class NpyTests
{
    [TestMethod]
    public void Float32RoundTripIsExactAndDeterministic()
    {
        var dir = TestPaths.NewTempDir("npy");
        float[] values = [0f, -1.5f, 3.25f, float.MaxValue, float.Epsilon, 1e-7f];
        var first = Path.Combine(dir, "a.npy");
        var second = Path.Combine(dir, "b.npy");

        Npy.Write(first, [2, 3], values);
        Npy.Write(second, [2, 3], values);
        var array = Npy.Read(first);

        CollectionAssert.AreEqual(File.ReadAllBytes(first), File.ReadAllBytes(second));
        Assert.AreEqual("<f4", array.Dtype);
        CollectionAssert.AreEqual(new[] { 2, 3 }, array.Shape);
        CollectionAssert.AreEqual(values, array.ToFloat32());
        Assert.AreEqual(0, (File.ReadAllBytes(first).Length - values.Length * 4) % 64, "header is 64-byte aligned like NumPy's");
        StringAssert.Contains(Encoding.ASCII.GetString(File.ReadAllBytes(first), 10, 60), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    }

    [TestMethod]
    public void Int8RoundTripAndOneDimensionalShape()
    {
        var path = Path.Combine(TestPaths.NewTempDir("npy"), "q.npy");
        sbyte[] values = [-128, -1, 0, 1, 127];

        Npy.Write(path, [5], values);
        var array = Npy.Read(path);

        Assert.AreEqual("|i1", array.Dtype);
        CollectionAssert.AreEqual(new[] { 5 }, array.Shape);
        CollectionAssert.AreEqual(values, array.ToInt8());
        CollectionAssert.AreEqual(new long[] { -128, -1, 0, 1, 127 }, array.ToInt64());
        CollectionAssert.AreEqual(new[] { -128f, -1f, 0f, 1f, 127f }, array.ToFloat32());
    }

    [TestMethod]
    public void ReadsVersion2HeaderAndInt64()
    {
        var bytes = NpyBytes(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", BitConverter.GetBytes(7L).Concat(BitConverter.GetBytes(-2L)).Concat(BitConverter.GetBytes(5L)).ToArray());

        var array = Npy.Read(bytes, "v2.npy");

        CollectionAssert.AreEqual(new long[] { 7, -2, 5 }, array.ToInt64());
    }

    [TestMethod]
    public void ReadsSharedKwsInputs()
    {
        var path = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/test_data/inputs.npy");

        var array = Npy.Read(path);

        CollectionAssert.AreEqual(new[] { 1000, 1, 49, 10 }, array.Shape);
        Assert.AreEqual("<f4", array.Dtype);
    }

    [TestMethod]
    public void FortranOrderIsTML2002()
    {
        var bytes = NpyBytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", new byte[4]);

        var error = Assert.ThrowsExactly<TinyMLException>(() => Npy.Read(bytes, "f.npy"));

        Assert.AreEqual(ErrorCodes.BadCalibrationFile, error.Code);
        Assert.AreEqual("f.npy", error.File);
        StringAssert.Contains(error.Message, "fortran_order");
    }

    [TestMethod]
    public void BadFilesAreTML2002()
    {
        byte[][] badFiles =
        [
            [],
            Encoding.ASCII.GetBytes("not an npy file at all"),
            NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new byte[12]), // truncated data
            NpyBytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]), // big-endian
            NpyBytes(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]), // complex
            NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999, 99999, 99999), }", new byte[4]),
            NpyBytes(1, "garbage header", new byte[4]),
        ];

        foreach (var bytes in badFiles)
        {
            var error = Assert.ThrowsExactly<TinyMLException>(() => Npy.Read(bytes, "bad.npy"));
            Assert.AreEqual(ErrorCodes.BadCalibrationFile, error.Code, error.Message);
        }
    }

    [TestMethod]
    public void CorruptedBytesAreTML2002OrReadNeverARawException()
    {
        var original = NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[24]);
        var random = new Random(4242);
        for (var attempt = 0; attempt < 3000; attempt++)
        {
            var bytes = (byte[])original.Clone();
            for (var changes = random.Next(1, 4); changes > 0; changes--)
            {
                // Mostly the header (magic, version, length, dictionary), where the parsing is.
                var at = random.Next(10) < 8 ? random.Next(Math.Min(bytes.Length, 80)) : random.Next(bytes.Length);
                bytes[at] = random.Next(3) == 0 ? (byte)"0123456789(),' -<>"[random.Next(18)] : (byte)random.Next(256);
            }

            if (random.Next(4) == 0)
            {
                bytes = bytes[..random.Next(bytes.Length)];
            }

            try
            {
                var array = Npy.Read(bytes, "fuzz.npy");
                // What reads must be whole: as many elements as its shape says.
                Assert.AreEqual(array.Shape.Aggregate(1L, (a, b) => a * b), (long)array.ElementCount, string.Join(",", array.Shape));
            }
            catch (TinyMLException error)
            {
                Assert.AreEqual(ErrorCodes.BadCalibrationFile, error.Code, error.Message);
            }
        }
    }

    [TestMethod]
    public void FloatArrayToInt8IsRejected()
    {
        var array = new NpyArray([1], "<f4", new[] { 1f });

        Assert.AreEqual(ErrorCodes.BadCalibrationFile, Assert.ThrowsExactly<TinyMLException>(() => array.ToInt8()).Code);
    }

    internal static byte[] NpyBytes(int major, string header, byte[] data)
    {
        var headerBytes = Encoding.ASCII.GetBytes(header + "\n");
        var prefix = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        prefix.AddRange(major == 1 ? BitConverter.GetBytes((ushort)headerBytes.Length) : BitConverter.GetBytes((uint)headerBytes.Length));
        return [.. prefix, .. headerBytes, .. data];
    }
}
