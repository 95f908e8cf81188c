using System.Buffers.Binary;

namespace TinyML.Firmware;

/// <summary>
/// CRC-32/MPEG-2: polynomial 0x04C11DB7, initial value 0xFFFFFFFF, input and output not reflected, no final XOR (check
/// value of "123456789": 0x0376E6E7). The checksum the RP2040 boot ROM verifies over the first 252 bytes of flash
/// before it runs them as the second-stage boot (RP2040 datasheet 2.8.1.3.1).
/// </summary>
public static class Crc32Mpeg2
{
    private const uint Polynomial = 0x04C11DB7;

    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = (crc << 8) ^ Table[(byte)(crc >> 24) ^ b];
        }

        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (var i = 0u; i < 256; i++)
        {
            var crc = i << 24;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x80000000) != 0 ? (crc << 1) ^ Polynomial : crc << 1;
            }

            table[i] = crc;
        }

        return table;
    }
}

/// <summary>
/// Writes a board's <see cref="BootBlock"/> checksum into the linked ELF: the block's code is assembled with a zero
/// placeholder in its last 4 bytes (the checksum depends on the bytes the linker produced), and everything made from
/// the .elf afterwards (.hex, .bin, .uf2, and what a debugger loads) then carries a block the boot ROM accepts.
/// </summary>
public static class BootBlockChecksum
{
    /// <summary>
    /// Checks that <paramref name="elfPath"/> has the block at <paramref name="flashOrigin"/> with its exact size and
    /// writes its checksum; true when the file changed. TML5018 when the block is missing or misplaced.
    /// </summary>
    public static bool Seal(string elfPath, BootBlock block, ulong flashOrigin)
    {
        var section = ElfSections.Read(elfPath).FirstOrDefault(s => s.Name == block.Section);
        if (section is null || !section.OccupiesFileImage || section.Address != flashOrigin || section.Size != (ulong)block.Bytes)
        {
            throw new TinyMLException(ErrorCodes.InvalidBootBlock, string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(elfPath)}: the boot block {block.Section} must be {block.Bytes} bytes at 0x{flashOrigin:x8}, where the boot ROM loads it; ")
                + (section is null
                    ? "the image has none (the board support's boot block was not linked)"
                    : string.Create(CultureInfo.InvariantCulture, $"it is {section.Size} bytes at 0x{section.Address:x8} (does the project define a {block.Section} section of its own?)")),
                elfPath);
        }

        using var file = new FileStream(elfPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var bytes = new byte[block.Bytes];
        file.Position = (long)section.FileOffset;
        file.ReadExactly(bytes);
        var checksum = Crc32Mpeg2.Compute(bytes.AsSpan(0, block.Bytes - 4));
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(block.Bytes - 4)) == checksum)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(block.Bytes - 4), checksum);
        file.Position = (long)section.FileOffset + block.Bytes - 4;
        file.Write(bytes.AsSpan(block.Bytes - 4));
        return true;
    }

    /// <summary>Whether the first <see cref="BootBlock.Bytes"/> of a raw flash image carry a valid checksum.</summary>
    public static bool IsValid(ReadOnlySpan<byte> image, BootBlock block) =>
        image.Length >= block.Bytes
        && BinaryPrimitives.ReadUInt32LittleEndian(image[(block.Bytes - 4)..]) == Crc32Mpeg2.Compute(image[..(block.Bytes - 4)]);
}
