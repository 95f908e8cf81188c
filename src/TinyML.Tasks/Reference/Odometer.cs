namespace TinyML.Reference;

/// <summary>
/// The broadcasting walk of the element-wise kernels (tml_odometer.h), for their C# references: an odometer over the
/// output index that moves each operand's offset by its stride along the dimension that advanced (stride 0 where the
/// operand is broadcast). The float32 and int8 references differ only in the arithmetic they apply at each step.
/// </summary>
internal sealed class Odometer
{
    private readonly int[] _dims;
    private readonly int[][] _strides;
    private readonly int[] _index;

    public Odometer(int[] dims, params int[][] strides)
    {
        _dims = dims;
        _strides = strides;
        _index = new int[dims.Length];
        Offset = new int[strides.Length];
    }

    /// <summary>Each operand's element offset for the current output element.</summary>
    public int[] Offset { get; }

    /// <summary>Steps to the next output element (the last dimension fastest).</summary>
    public void Next()
    {
        for (var d = _dims.Length - 1; d >= 0; d--)
        {
            for (var k = 0; k < _strides.Length; k++)
            {
                Offset[k] += _strides[k][d];
            }

            if (++_index[d] < _dims[d])
            {
                return;
            }

            for (var k = 0; k < _strides.Length; k++)
            {
                Offset[k] -= _strides[k][d] * _dims[d];
            }

            _index[d] = 0;
        }
    }
}
