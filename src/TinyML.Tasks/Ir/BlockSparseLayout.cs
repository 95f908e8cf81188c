namespace TinyML.Ir;

/// <summary>
/// Block-sparse storage of a fully connected layer's int8 weights [rows, inFeatures] (tml_fully_connected_bsr_s8):
/// each row's inputs in blocks of <see cref="BlockSize"/>, the blocks holding a nonzero weight stored row after row
/// (RowStart[r] .. RowStart[r + 1] - 1), each with its block column and its 8 weights (zeros past the row's end).
/// </summary>
public sealed record BlockSparseLayout(ushort[] RowStart, ushort[] BlockColumn, sbyte[] BlockWeights)
{
    public const int BlockSize = 8;

    public int Blocks => BlockColumn.Length;

    /// <summary>Flash bytes of the three arrays.</summary>
    public int Bytes => 2 * RowStart.Length + 2 * BlockColumn.Length + BlockWeights.Length;

    /// <summary>The layout of <paramref name="weights"/>, or null when its counts do not fit the kernel's 16-bit indices.</summary>
    public static BlockSparseLayout? Of(sbyte[] weights, int rows, int inFeatures)
    {
        var columns = (inFeatures + BlockSize - 1) / BlockSize;
        if (columns > ushort.MaxValue)
        {
            return null;
        }

        var rowStart = new List<ushort> { 0 };
        var blockColumn = new List<ushort>();
        var blockWeights = new List<sbyte>();
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                var start = r * inFeatures + c * BlockSize;
                var length = Math.Min(BlockSize, inFeatures - c * BlockSize);
                var block = weights.AsSpan(start, length);
                if (!block.ContainsAnyExcept((sbyte)0))
                {
                    continue;
                }

                if (blockColumn.Count == ushort.MaxValue)
                {
                    return null;
                }

                blockColumn.Add((ushort)c);
                blockWeights.AddRange(block.ToArray());
                blockWeights.AddRange(new sbyte[BlockSize - length]);
            }

            rowStart.Add((ushort)blockColumn.Count);
        }

        return new BlockSparseLayout([.. rowStart], [.. blockColumn], [.. blockWeights]);
    }
}
