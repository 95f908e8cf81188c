using TinyML.Emit;

namespace TinyML.Tests.Kernels;

/// <summary>The int4 weights' flash layout the kernels read (tml_s4_internal.h): two per byte, the even index in the
/// low nibble, each row on whole bytes.</summary>
[TestClass]
public sealed class Int4PackingTests
{
    [TestMethod]
    public void Pack_PutsTheEvenIndexInTheLowNibbleAndStartsEachRowOnAByte()
    {
        // Two rows of three: row bytes (3 + 1) / 2 = 2, the odd row's last high nibble 0.
        var packed = Int4Packing.Pack([1, -1, 7, -8, 0, 3], rows: 2);
        CollectionAssert.AreEqual(new byte[] { 0xF1, 0x07, 0x08, 0x03 }, packed);
        Assert.AreEqual(2, Int4Packing.RowBytes(3));
        Assert.AreEqual(0, Int4Packing.RowBytes(0));
    }

    [TestMethod]
    public void PackThenUnpack_RoundTripsEveryValueForOddAndEvenRows()
    {
        var random = new Random(4400);
        foreach (var (rows, length) in new[] { (1, 1), (3, 7), (2, 8), (5, 9), (4, 33), (1, 1025) })
        {
            var weights = RandomOps.Bytes(random, rows * length, -8, 7);
            var packed = Int4Packing.Pack(weights, rows);
            Assert.HasCount(rows * Int4Packing.RowBytes(length), packed);
            CollectionAssert.AreEqual(weights, Int4Packing.Unpack(packed, rows, length), $"{rows} rows of {length}");
        }
    }

    [TestMethod]
    public void Pack_RefusesValuesOutsideInt4AndPartialRows()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Int4Packing.Pack([0, 8], rows: 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Int4Packing.Pack([-9, 0], rows: 1));
        Assert.ThrowsExactly<ArgumentException>(() => Int4Packing.Pack([1, 2, 3], rows: 2));
    }
}
