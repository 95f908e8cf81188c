using System.Buffers.Binary;

namespace TinyML.Firmware;

/// <summary>
/// Writes a flash image as UF2 (https://github.com/microsoft/uf2, "USB Flashing Format"), the file a USB
/// mass-storage bootloader (RP2040's boot ROM, Adafruit's nRF52 bootloader) takes when it is copied onto its drive:
/// 512-byte blocks, each carrying 256 bytes of the image, its flash address and the chip family.
/// </summary>
public static class Uf2Writer
{
    public const int BlockBytes = 512;
    public const int PayloadBytes = 256;
    private const uint MagicStart0 = 0x0A324655; // "UF2\n"
    private const uint MagicStart1 = 0x9E5D5157;
    private const uint MagicEnd = 0x0AB16F30;
    private const uint FlagFamilyIdPresent = 0x00002000;

    /// <summary>The UF2 file for <paramref name="image"/> (a raw binary) to be written at <paramref name="baseAddress"/>.</summary>
    public static byte[] Write(ReadOnlySpan<byte> image, ulong baseAddress, uint familyId)
    {
        var blocks = Math.Max(1, (image.Length + PayloadBytes - 1) / PayloadBytes);
        var result = new byte[blocks * BlockBytes];
        for (var i = 0; i < blocks; i++)
        {
            var block = result.AsSpan(i * BlockBytes, BlockBytes);
            var offset = i * PayloadBytes;
            var length = Math.Min(PayloadBytes, Math.Max(0, image.Length - offset));
            BinaryPrimitives.WriteUInt32LittleEndian(block[0..], MagicStart0);
            BinaryPrimitives.WriteUInt32LittleEndian(block[4..], MagicStart1);
            BinaryPrimitives.WriteUInt32LittleEndian(block[8..], FlagFamilyIdPresent);
            BinaryPrimitives.WriteUInt32LittleEndian(block[12..], checked((uint)(baseAddress + (ulong)offset)));
            // Every block carries a full 256-byte payload (the last one padded with zeros): bootloaders write whole
            // 256-byte pages, and the RP2040 boot ROM accepts nothing else.
            BinaryPrimitives.WriteUInt32LittleEndian(block[16..], PayloadBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(block[20..], (uint)i);
            BinaryPrimitives.WriteUInt32LittleEndian(block[24..], (uint)blocks);
            BinaryPrimitives.WriteUInt32LittleEndian(block[28..], familyId);
            image.Slice(offset, length).CopyTo(block[32..]);
            BinaryPrimitives.WriteUInt32LittleEndian(block[(BlockBytes - 4)..], MagicEnd);
        }

        return result;
    }
}
