using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>The float32 layers with weights: convolutions, Gemm, MatMul (constant or run-time second input) and the recurrent cells.</summary>
public sealed partial class FloatLowering
{
    protected override void LowerMatMul(Node node)
    {
        if (node.Inputs.Count > 1 && GraphEdit.Constant(_graph, node.Inputs[1]) is null)
        {
            LowerActivationMatMul(node);
        }
        else
        {
            LowerBatchedMatMul(node);
        }
    }

    /// <summary>
    /// LSTM/GRU as one packed-output op (see <see cref="FRecurrent"/>): Y aliases the packed tensor's start, Y_h and
    /// Y_c are copies of the last hidden row and of the cell state.
    /// </summary>
    protected override void LowerRecurrent(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var cell = RecurrentCell.Resolve(_graph, node);
        var packedName = node.Name + ":packed";
        int? initialH = cell.InitialHValue is { } hName ? Id(hName, node) : null;
        int? initialC = cell.InitialCValue is { } cName ? Id(cName, node) : null;
        var packed = AddTensor(packedName, [FRecurrent.PackedCount(cell.Geometry.Kind, cell.Geometry.Seq, cell.Geometry.Hidden)]);
        _model.Ops.Add(new FRecurrent
        {
            NodeName = node.Name, Inputs = new int?[] { input, initialH, initialC }.Where(i => i is not null).Select(i => i!.Value).ToArray(), Output = packed,
            InitialHInput = initialH, InitialCInput = initialC,
            Geometry = cell.Geometry, W = cell.W, R = cell.R, WBias = cell.WBias, RBias = cell.RBias,
            InitialH = cell.InitialH, InitialC = cell.InitialC,
        });

        if (node.Outputs.Count > 0 && node.Outputs[0].Length > 0)
        {
            var y = AddTensor(node.Outputs[0]);
            _model.Tensors[y].AliasOf = packed;
            _model.Ops.Add(new FReshape { NodeName = node.Name + ":Y", Inputs = [packed], Output = y });
        }

        // The last hidden state is the row of the last time step processed: t = Seq-1 forward, t = 0 in reverse.
        var lastRow = cell.Geometry.Reverse ? 0 : (cell.Geometry.Seq - 1) * cell.Geometry.Hidden;
        var stateOffsets = new[] { lastRow, cell.Geometry.Seq * cell.Geometry.Hidden };
        for (var k = 1; k < Math.Min(node.Outputs.Count, cell.Geometry.Kind == RecurrentKind.Lstm ? 3 : 2); k++)
        {
            if (node.Outputs[k].Length == 0)
            {
                continue;
            }

            _model.Ops.Add(new FCopy
            {
                NodeName = node.Name + (k == 1 ? ":Y_h" : ":Y_c"), Inputs = [packed], Output = AddTensor(node.Outputs[k]),
                Count = cell.Geometry.Hidden, SourceOffset = stateOffsets[k - 1],
            });
        }
    }

    protected override void LowerConv(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var wTensor = Constant(node, 1);
        var geometry = ConvGeometry.Resolve(node, _model.Tensors[input].Shape, wTensor.Shape, File);
        var bias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Constant(node, 2).FloatData! : new float[geometry.OutC];
        var (min, max) = FusedActivation(node);
        _model.Ops.Add(new FConv2D
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]), Geometry = geometry,
            Weights = wTensor.FloatData!, Bias = bias, Activation = new(min, max),
        });
    }

    protected override void LowerConvTranspose(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var wTensor = Constant(node, 1);
        var g = ConvTransposeGeometry.Resolve(node, _model.Tensors[input].Shape, wTensor.Shape, File);
        var bias = g.BiasOrZeros(node, node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Constant(node, 2).FloatData! : null, File);
        var (min, max) = FusedActivation(node);
        _model.Ops.Add(new FConvTranspose2D
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]), Geometry = g,
            Weights = g.FilterPerOutputChannel(wTensor.FloatData!), Bias = bias, Activation = new(min, max),
        });
    }

    protected override void LowerGemm(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var a = _model.Tensors[input].Shape;
        var bTensor = Constant(node, 1);
        if (a.Length != 2 || bTensor.Shape.Length != 2)
        {
            throw Unsupported(node, "Gemm needs 2-D operands");
        }

        var transA = node.GetInt("transA", 0) != 0;
        var transB = node.GetInt("transB", 0) != 0;
        var (m, k) = transA ? (a[1], a[0]) : (a[0], a[1]);
        var n = transB ? bTensor.Shape[0] : bTensor.Shape[1];
        if ((transB ? bTensor.Shape[1] : bTensor.Shape[0]) != k)
        {
            throw Unsupported(node, $"B [{string.Join(",", bTensor.Shape)}] does not match A [{string.Join(",", a)}]");
        }

        var b = bTensor.FloatData!;
        var weights = new float[n * k];
        for (var o = 0; o < n; o++)
        {
            for (var i = 0; i < k; i++)
            {
                weights[o * k + i] = transB ? b[o * k + i] : b[i * n + o];
            }
        }

        var (bias, biasRowStride) = GemmBias(node, m, n);
        var (min, max) = FusedActivation(node);
        _model.Ops.Add(new FGemm
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Geometry = new(m, k, n, transA ? 1 : k, transA ? m : 1, biasRowStride),
            Alpha = node.GetFloat("alpha", 1f), Weights = weights, Bias = bias,
            Activation = new(min, max),
        });
    }

    /// <summary>
    /// A MatMul the Gemm rewrite left (B constant but not 2-D, or A 1-D): numpy semantics, 1-D operands promoted and
    /// batch dimensions broadcast. Each output batch is one Gemm over its own [N, K] block of B transposed.
    /// </summary>
    private void LowerBatchedMatMul(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var bTensor = Constant(node, 1);
        var g = Geometry(node, _model.Tensors[input].Shape, bTensor.Shape);
        var (m, k, n) = (g.M, g.K, g.N);
        var bBlocks = bTensor.FloatData!.Length / (k * n);
        var b = bTensor.FloatData!;
        var weights = new float[bBlocks * n * k];
        for (var block = 0; block < bBlocks; block++)
        {
            for (var o = 0; o < n; o++)
            {
                for (var i = 0; i < k; i++)
                {
                    weights[(block * n + o) * k + i] = b[(block * k + i) * n + o];
                }
            }
        }

        // The weights are B's blocks transposed to [N, K]: a block starts where B's did (K * N elements each).
        var (aOffsets, weightOffsets) = (g.AOffsets, g.BOffsets);
        var (min, max) = FusedActivation(node);
        _model.Ops.Add(new FGemm
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Geometry = new(m, k, n, k, 1, 0, AOffsets: aOffsets, WeightOffsets: weightOffsets),
            Alpha = 1f, Weights = weights, Bias = new float[n],
            Activation = new(min, max),
        });
    }

    /// <summary>
    /// MatMul whose B is computed at run time: A [..., M, K] x B [..., K, N] (1-D operands as ONNX promotes them), batch
    /// dimensions broadcast; each output batch reads its own block of A and of B in place (no copies).
    /// </summary>
    private void LowerActivationMatMul(Node node)
    {
        var a = Id(node.Inputs[0], node);
        var b = Id(node.Inputs[1], node);
        _model.Ops.Add(new FMatMul
        {
            NodeName = node.Name, Inputs = [a, b], Output = AddTensor(node.Outputs[0]),
            Geometry = Geometry(node, _model.Tensors[a].Shape, _model.Tensors[b].Shape),
        });
    }

    private MatMulGeometry Geometry(Node node, int[] aShape, int[] bShape)
    {
        var (geometry, problem) = MatMulGeometry.Of(aShape, bShape);
        return geometry ?? throw Unsupported(node, problem!);
    }

    /// <summary>beta * C, unidirectionally broadcast to [M, N]; one shared row when C does not vary by row.</summary>
    private (float[] Bias, int RowStride) GemmBias(Node node, int m, int n)
    {
        if (node.Inputs.Count <= 2 || node.Inputs[2].Length == 0)
        {
            return (new float[n], 0);
        }

        var cTensor = Constant(node, 2);
        var c = cTensor.FloatData!;
        var beta = node.GetFloat("beta", 1f);
        var shape = cTensor.Shape;
        var rows = shape.Length == 2 ? shape[0] : 1;
        var cols = shape.Length switch { 0 => 1, 1 => shape[0], 2 => shape[1], _ => -1 };
        if (cols < 0 || (cols != 1 && cols != n) || (rows != 1 && rows != m))
        {
            throw Unsupported(node, $"C [{string.Join(",", shape)}] does not broadcast to [{m},{n}]");
        }

        var outRows = rows == 1 ? 1 : m;
        var bias = new float[outRows * n];
        for (var r = 0; r < outRows; r++)
        {
            for (var col = 0; col < n; col++)
            {
                bias[r * n + col] = beta * c[(rows == 1 ? 0 : r) * cols + (cols == 1 ? 0 : col)];
            }
        }

        return (bias, outRows == 1 ? 0 : n);
    }
}
