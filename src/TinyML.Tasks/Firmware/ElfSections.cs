using System.Buffers.Binary;

namespace TinyML.Firmware;

/// <summary>One section of an ELF file: what the size report needs to classify it as flash and/or RAM.</summary>
public sealed record ElfSection(string Name, ulong Address, ulong Size, bool Allocated, bool OccupiesFileImage)
{
    /// <summary>Where the section's bytes start in the file (for a section with bytes in the image).</summary>
    public ulong FileOffset { get; init; }

    /// <summary>
    /// A thread-local .bss (<c>.tbss</c>: SHF_TLS, no bits): the template of each thread's zeroed TLS block, which takes
    /// no memory at its address. The single thread's block is either reserved by the linker script (picolibc's
    /// <c>.tbss_space</c>, at the same address) or allocated at run time, so counting it would count it twice.
    /// </summary>
    public bool ThreadLocalTemplate { get; init; }

    /// <summary>Whether the section takes bytes of the loaded image's memory (flash or RAM).</summary>
    public bool TakesMemory => Allocated && Size > 0 && !ThreadLocalTemplate;
}

/// <summary>
/// Reads the section headers of an ELF32/ELF64 little-endian file. <c>size -A</c> lists names, sizes and addresses
/// but not the flags, and without the flags debug sections (address 0) cannot be told from code at flash address 0.
/// </summary>
public static class ElfSections
{
    private const uint ShfAlloc = 0x2;
    private const uint ShfTls = 0x400;
    private const uint ShtNobits = 8;

    public static IReadOnlyList<ElfSection> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 52 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
        {
            throw new InvalidDataException($"{path} is not an ELF file");
        }

        if (bytes[5] != 1)
        {
            throw new InvalidDataException($"{path}: only little-endian ELF is supported");
        }

        var is64 = bytes[4] == 2;
        var span = bytes.AsSpan();
        ulong sectionTable = is64 ? BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]) : BinaryPrimitives.ReadUInt32LittleEndian(span[0x20..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(span[(is64 ? 0x3A : 0x2E)..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(span[(is64 ? 0x3C : 0x30)..]);
        int namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(span[(is64 ? 0x3E : 0x32)..]);

        var raw = new List<(uint Name, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size)>();
        for (var i = 0; i < count; i++)
        {
            var h = span[(int)(sectionTable + (ulong)(i * entrySize))..];
            raw.Add(is64
                ? (BinaryPrimitives.ReadUInt32LittleEndian(h), BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(h[8..]), BinaryPrimitives.ReadUInt64LittleEndian(h[16..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(h[24..]), BinaryPrimitives.ReadUInt64LittleEndian(h[32..]))
                : (BinaryPrimitives.ReadUInt32LittleEndian(h), BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(h[8..]), BinaryPrimitives.ReadUInt32LittleEndian(h[12..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(h[16..]), BinaryPrimitives.ReadUInt32LittleEndian(h[20..])));
        }

        var names = raw[namesIndex];
        var sections = new List<ElfSection>();
        foreach (var s in raw.Skip(1))
        {
            var start = (int)(names.Offset + s.Name);
            var end = Array.IndexOf(bytes, (byte)0, start);
            var name = Encoding.ASCII.GetString(bytes, start, end - start);
            var allocated = (s.Flags & ShfAlloc) != 0;
            sections.Add(new ElfSection(name, s.Address, s.Size, allocated, allocated && s.Type != ShtNobits && s.Size > 0)
            {
                FileOffset = s.Offset,
                ThreadLocalTemplate = (s.Flags & ShfTls) != 0 && s.Type == ShtNobits,
            });
        }

        return sections;
    }
}
