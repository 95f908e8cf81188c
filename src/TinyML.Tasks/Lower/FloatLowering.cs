using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>
/// Lowers the optimized float graph to the float32 model (<c>Quantize="none"</c>): the same graph the int8 path
/// quantizes, but every op keeps float32 weights. Build-time work is done here once (window geometry, B transposed
/// to [N, K], alpha kept, beta*C broadcast, BatchNormalization folded to a multiply-add, broadcast strides), so the
/// C kernels are plain loops. Anything the float kernels cannot do is a coded error naming the node.
/// </summary>
public sealed class FloatLowering : GraphLowering
{
    private readonly Graph _graph;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly LoweredModel _model;

    private FloatLowering(Graph graph)
        : base(graph)
    {
        _graph = graph;
        _model = new LoweredModel { Name = graph.Name, Input = 0, Output = 0 };
    }

    /// <summary>Lowers <paramref name="graph"/> (already optimized and shape-inferred).</summary>
    public static LoweredModel Lower(Graph graph) => new FloatLowering(graph).Run();

    private LoweredModel Run()
    {
        var inputs = _graph.Inputs.Where(n => !_graph.Tensor(n).IsConstant).ToList();
        if (inputs.Count == 0 || _graph.Outputs.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"models with {inputs.Count} inputs and {_graph.Outputs.Count} outputs are not supported (at least one of each)", File);
        }

        // Several inputs/outputs (e.g. a recurrent state fed back by the caller): the first is Input/Output as before.
        var inputIds = inputs.Select(name => AddTensor(name)).ToList();
        _model.Input = inputIds[0];
        _model.ExtraInputs.AddRange(inputIds.Skip(1));
        foreach (var node in _graph.Nodes)
        {
            if (node.OpType is not ("Split" or "LSTM" or "GRU") && node.Outputs.Count(o => o.Length > 0) != 1)
            {
                throw Unsupported(node, "only single-output nodes are supported (no MaxPool Indices, no training-mode BatchNormalization)");
            }

            LowerNode(node);
        }

        foreach (var name in _graph.Outputs.Where(o => !_ids.ContainsKey(o)).Distinct(StringComparer.Ordinal).ToList())
        {
            if (GraphEdit.Constant(_graph, name) is { } constant)
            {
                LowerConstantOutput(constant);
            }
        }

        // An output may be an input or repeat another output: the entry points copy each one out of the arena.
        var outputIds = _graph.Outputs.Select(name => Id(name, null)).ToList();
        _model.Output = outputIds[0];
        _model.ExtraOutputs.AddRange(outputIds.Skip(1));
        return _model;
    }

    /// <summary>A graph output that is a constant (an initializer, or a value constant folding computed): copied from
    /// flash into the arena each run.</summary>
    private void LowerConstantOutput(Tensor constant)
    {
        var values = constant.FloatData;
        if (values is null || values.Length == 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph output '{constant.Name}' is a constant of type {constant.Type} with {values?.Length ?? 0} element(s); only non-empty float32 outputs are supported", File);
        }

        _model.Ops.Add(new FGather
        {
            NodeName = constant.Name, Inputs = [], Output = AddTensor(constant.Name),
            Parts = [new FGatherPart(null, values, GatherPlan.Region([values.Length], [1], 0))],
        });
    }

    protected override TinyMLException NoLowering(Node node)
    {
        var int8Only = Import.OpSupport.ByOpType.TryGetValue(node.OpType, out var entry) && entry.Int8 == Import.Support.Yes;
        return new TinyMLException(ErrorCodes.UnsupportedOp,
            $"unsupported operator '{node.OpType}' (node '{node.Name}'): there is no float32 kernel for it{(int8Only ? " (it has an int8 kernel: Quantize=\"int8\")" : "")} ({Import.OpSupport.TableReference})", File);
    }

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

    protected override void LowerMove(Node node, GatherPlan plan, float padValue) => LowerGather(node, [plan], padValue);

    protected override void LowerConcat(Node node) => LowerGather(node, DataMovement.Concat(_graph, node), 0f);

    protected override void LowerReduce(Node node)
    {
        var x = _model.Tensors[Id(node.Inputs[0], node)].Shape;
        var (outer, reduce, inner) = Reference.FloatInterpreter.ReduceView(node, _graph, x);
        _model.Ops.Add(new FReduce
        {
            NodeName = node.Name, Inputs = [Id(node.Inputs[0], node)], Output = AddTensor(node.Outputs[0]),
            Kind = ReduceKindOf(node), Outer = outer, Reduce = reduce, Inner = inner,
        });
    }

    protected override void LowerLogSoftmax(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var view = SoftmaxView(node, _model.Tensors[input].Shape, _graph.OpsetVersion, File);
        _model.Ops.Add(new FLogSoftmax { NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]), Outer = view.Outer, AxisSize = view.AxisSize, Inner = view.Inner });
    }

    protected override void LowerLayerNorm(Node node)
    {
        var (outer, inner, scale, bias) = LayerNormView(node, _graph, File);
        _model.Ops.Add(new FLayerNorm
        {
            NodeName = node.Name, Inputs = [Id(node.Inputs[0], node)], Output = AddTensor(node.Outputs[0]),
            Outer = outer, Inner = inner, Epsilon = node.GetFloat("epsilon", 1e-5f), Scale = scale, Bias = bias,
        });
    }

    protected override void LowerCopy(Node node)
    {
        var input = Id(node.Inputs[0], node);
        _model.Ops.Add(new FCopy { NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]), Count = _model.Tensors[input].ElementCount });
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
        var packed = AddTensor(packedName, [FRecurrent.PackedCount(cell.Kind, cell.Seq, cell.Hidden)]);
        _model.Ops.Add(new FRecurrent
        {
            NodeName = node.Name, Inputs = new int?[] { input, initialH, initialC }.Where(i => i is not null).Select(i => i!.Value).ToArray(), Output = packed,
            InitialHInput = initialH, InitialCInput = initialC,
            Kind = cell.Kind, Seq = cell.Seq, InputSize = cell.InputSize, Hidden = cell.Hidden, Reverse = cell.Reverse,
            LinearBeforeReset = cell.LinearBeforeReset, W = cell.W, R = cell.R, WBias = cell.WBias, RBias = cell.RBias,
            InitialH = cell.InitialH, InitialC = cell.InitialC,
        });

        if (node.Outputs.Count > 0 && node.Outputs[0].Length > 0)
        {
            var y = AddTensor(node.Outputs[0]);
            _model.Tensors[y].AliasOf = packed;
            _model.Ops.Add(new FReshape { NodeName = node.Name + ":Y", Inputs = [packed], Output = y });
        }

        // The last hidden state is the row of the last time step processed: t = Seq-1 forward, t = 0 in reverse.
        var lastRow = cell.Reverse ? 0 : (cell.Seq - 1) * cell.Hidden;
        var stateOffsets = new[] { lastRow, cell.Seq * cell.Hidden };
        for (var k = 1; k < Math.Min(node.Outputs.Count, cell.Kind == RecurrentKind.Lstm ? 3 : 2); k++)
        {
            if (node.Outputs[k].Length == 0)
            {
                continue;
            }

            _model.Ops.Add(new FCopy
            {
                NodeName = node.Name + (k == 1 ? ":Y_h" : ":Y_c"), Inputs = [packed], Output = AddTensor(node.Outputs[k]),
                Count = cell.Hidden, SourceOffset = stateOffsets[k - 1],
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
            Weights = wTensor.FloatData!, Bias = bias, ActivationMin = min, ActivationMax = max,
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
            Weights = g.FilterPerOutputChannel(wTensor.FloatData!), Bias = bias, ActivationMin = min, ActivationMax = max,
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
            M = m, K = k, N = n,
            ARowStride = transA ? 1 : k, AColStride = transA ? m : 1,
            Alpha = node.GetFloat("alpha", 1f), Weights = weights, Bias = bias, BiasRowStride = biasRowStride,
            ActivationMin = min, ActivationMax = max,
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
            M = m, K = k, N = n, ARowStride = k, AColStride = 1,
            Alpha = 1f, Weights = weights, Bias = new float[n], BiasRowStride = 0,
            ActivationMin = min, ActivationMax = max,
            AOffsets = aOffsets, WeightOffsets = weightOffsets,
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

    protected override void LowerPool(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var x = _model.Tensors[input].Shape;
        if (Window1D.IsNcw(x) && !node.OpType.StartsWith("Global", StringComparison.Ordinal))
        {
            (node, x) = (Window1D.AsNchwNode(node), Window1D.AsNchw(x));
        }

        if (Window3D.IsNcdhw(x) && node.OpType is ("MaxPool" or "AveragePool") && Window3D.Split(node) is { } steps)
        {
            LowerPool3D(node, input, x, steps);
            return;
        }

        if (x.Length != 4)
        {
            throw Unsupported(node, $"only 1-D, 2-D and 3-D pooling (NCW, NCHW, NCDHW) is supported, input has rank {x.Length}");
        }

        WindowGeometry g;
        if (node.OpType.StartsWith("Global", StringComparison.Ordinal))
        {
            g = new WindowGeometry(x[2], x[3], 1, 1, 1, 1, 0, 0, 0, 0, 1, 1);
        }
        else
        {
            var kernel = node.GetInts("kernel_shape") ?? throw Unsupported(node, "kernel_shape is required");
            if (kernel.Length != 2)
            {
                throw Unsupported(node, "only 2-D pooling is supported");
            }

            g = WindowGeometry.Resolve(node, x[2], x[3], (int)kernel[0], (int)kernel[1], File);
        }

        _model.Ops.Add(new FPool
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Kind = node.OpType.Contains("Max", StringComparison.Ordinal) ? PoolKind.Max : PoolKind.Average,
            Planes = x[0] * x[1], InH = x[2], InW = x[3], OutH = g.OutH, OutW = g.OutW,
            Geometry = g, CountIncludePad = node.OpType == "AveragePool" && node.GetInt("count_include_pad", 0) != 0,
        });
    }

    /// <summary>3-D pooling: the (H, W) pool into an intermediate tensor, then the D pool (see <see cref="Window3D"/>).</summary>
    private void LowerPool3D(Node node, int input, int[] x, (Node Spatial, Node Depth) steps)
    {
        var kind = node.OpType == "MaxPool" ? PoolKind.Max : PoolKind.Average;
        var countIncludePad = node.OpType == "AveragePool" && node.GetInt("count_include_pad", 0) != 0;
        var spatialKernel = steps.Spatial.GetInts("kernel_shape")!;
        var spatial = WindowGeometry.Resolve(steps.Spatial, x[3], x[4], (int)spatialKernel[0], (int)spatialKernel[1], File);
        var intermediate = AddTensor(node.Outputs[0] + "/hw_pool", [x[0], x[1], x[2], spatial.OutH, spatial.OutW]);
        _model.Ops.Add(new FPool
        {
            NodeName = node.Name, Inputs = [input], Output = intermediate, Kind = kind,
            Planes = x[0] * x[1] * x[2], InH = x[3], InW = x[4], OutH = spatial.OutH, OutW = spatial.OutW,
            Geometry = spatial, CountIncludePad = countIncludePad,
        });
        var depthW = spatial.OutH * spatial.OutW;
        var depth = WindowGeometry.Resolve(steps.Depth, x[2], depthW, (int)steps.Depth.GetInts("kernel_shape")![0], 1, File);
        _model.Ops.Add(new FPool
        {
            NodeName = node.Name, Inputs = [intermediate], Output = AddTensor(node.Outputs[0]), Kind = kind,
            Planes = x[0] * x[1], InH = x[2], InW = depthW, OutH = depth.OutH, OutW = depth.OutW,
            Geometry = depth, CountIncludePad = countIncludePad,
        });
    }

    protected override void LowerClamp(Node node)
    {
        var input = Id(node.Inputs[0], node);
        if (!FuseActivationPass.TryRange(_graph, node, out var min, out var max))
        {
            throw Unsupported(node, "Clip bounds must be constants");
        }

        _model.Ops.Add(new FClamp
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Count = _model.Tensors[input].ElementCount, Min = min, Max = max,
        });
    }

    protected override void LowerReshape(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var output = AddTensor(node.Outputs[0]);
        _model.Tensors[output].AliasOf = _model.StorageOf(input);
        _model.Ops.Add(new FReshape { NodeName = node.Name, Inputs = [input], Output = output });
    }

    /// <summary>One gather per plan; plan i reads data input i (Concat), which may be a constant.</summary>
    private void LowerGather(Node node, List<GatherPlan> plans, float padValue)
    {
        var sources = node.Inputs.Where(n => n.Length > 0).Take(plans.Count).ToList();
        var parts = new List<FGatherPart>();
        for (var i = 0; i < plans.Count; i++)
        {
            parts.Add(GraphEdit.Constant(_graph, sources[i]) is { } constant
                ? new FGatherPart(null, constant.FloatData ?? throw Unsupported(node, $"input {i} is not float32"), plans[i])
                : new FGatherPart(Id(sources[i], node), null, plans[i]));
        }

        if (parts.All(p => p.Source is null))
        {
            throw Unsupported(node, "all inputs are constants; it should have been folded");
        }

        _model.Ops.Add(new FGather
        {
            NodeName = node.Name, Inputs = parts.Where(p => p.Source is not null).Select(p => p.Source!.Value).Distinct().ToArray(),
            Output = AddTensor(node.Outputs[0]), Parts = parts, PadValue = padValue,
        });
    }

    /// <summary>Split: one single-output gather per output, all reading the same input.</summary>
    protected override void LowerSplit(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var plans = DataMovement.Split(_graph, node);
        for (var i = 0; i < plans.Count; i++)
        {
            _model.Ops.Add(new FGather
            {
                NodeName = node.Outputs.Count > 1 ? $"{node.Name}:{i}" : node.Name, Inputs = [input], Output = AddTensor(node.Outputs[i]),
                Parts = [new FGatherPart(input, null, plans[i])],
            });
        }
    }

    protected override void LowerResize(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var geometry = ResizeGeometry.Resolve(_graph, node, _model.Tensors[input].Shape);
        if (geometry.Mode == "nearest")
        {
            LowerGather(node, [DataMovement.ResizeNearest(_graph, node, geometry)], 0f);
            return;
        }

        if (geometry.NeedsGeneralTaps)
        {
            var (tapPlanes, tapInH, tapInW) = Reference.FloatInterpreter.GeneralResizeView(node, _graph, geometry);
            var tapRank = geometry.InShape.Length;
            var (ty, yIndex, yWeight, yOutside) = geometry.GeneralTaps(tapRank - 2);
            var (tx, xIndex, xWeight, xOutside) = geometry.GeneralTaps(tapRank - 1);
            static int[] Marked(int[] index, bool[] outside, int taps) =>
                index.Select((v, k) => k % taps == 0 && outside[k / taps] ? -1 : v).ToArray();
            _model.Ops.Add(new FResizeTaps
            {
                NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
                Planes = tapPlanes, InH = tapInH, InW = tapInW, OutH = yOutside.Length, OutW = xOutside.Length, TapsY = ty, TapsX = tx,
                IndexY = Marked(yIndex, yOutside, ty), WeightY = yWeight.Select(w => (float)w).ToArray(),
                IndexX = Marked(xIndex, xOutside, tx), WeightX = xWeight.Select(w => (float)w).ToArray(),
                ExtrapolationValue = geometry.ExtrapolationValue,
            });
            return;
        }

        var (planes, inH, inW) = Reference.FloatInterpreter.LinearResizeView(node, _graph, geometry);
        var rank = geometry.InShape.Length;
        var (y0, y1, wy) = geometry.LinearTaps(rank - 2);
        var (x0, x1, wx) = geometry.LinearTaps(rank - 1);
        _model.Ops.Add(new FResizeBilinear
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Planes = planes, InH = inH, InW = inW, Y0 = y0, Y1 = y1, WeightY = wy.Select(w => (float)w).ToArray(),
            X0 = x0, X1 = x1, WeightX = wx.Select(w => (float)w).ToArray(),
        });
    }

    protected override void LowerAdd(Node node)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank)
        {
            throw Unsupported(node, $"broadcasting Add supports rank <= {BroadcastGeometry.MaxRank}");
        }

        var (a, constantA, aShape) = Operand(node, 0);
        var (b, constantB, bShape) = Operand(node, 1);
        if (a is null && b is null)
        {
            throw Unsupported(node, "Add of two constants should have been folded");
        }

        _model.Ops.Add(new FAdd
        {
            NodeName = node.Name,
            Inputs = new[] { a, b }.Where(i => i is not null).Select(i => i!.Value).ToArray(),
            Output = AddTensor(node.Outputs[0]),
            Geometry = BroadcastGeometry.Of(outShape, aShape, a, bShape, b), ConstantA = constantA, ConstantB = constantB,
        });
    }

    protected override void LowerBinary(Node node)
    {
        if (node.Inputs.Count != 2)
        {
            throw Unsupported(node, $"{node.OpType} with {node.Inputs.Count} inputs (two are supported)");
        }

        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank)
        {
            throw Unsupported(node, $"broadcasting {node.OpType} supports rank <= {BroadcastGeometry.MaxRank}");
        }

        var (a, constantA, aShape) = Operand(node, 0);
        var (b, constantB, bShape) = Operand(node, 1);
        if (a is null && b is null)
        {
            throw Unsupported(node, $"{node.OpType} of two constants should have been folded");
        }

        _model.Ops.Add(new FBinary
        {
            NodeName = node.Name,
            Kind = ElementwiseMath.BinaryOps[node.OpType],
            Inputs = new[] { a, b }.Where(i => i is not null).Select(i => i!.Value).ToArray(),
            Output = AddTensor(node.Outputs[0]),
            Geometry = BroadcastGeometry.Of(outShape, aShape, a, bShape, b), ConstantA = constantA, ConstantB = constantB,
        });
    }

    protected override void LowerUnary(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var (kind, alpha, beta) = ElementwiseMath.Unary(node);
        _model.Ops.Add(new FUnary
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Kind = kind, Count = _model.Tensors[input].ElementCount, Alpha = alpha, Beta = beta,
        });
    }

    /// <summary>ReduceMean, ReduceSum or ReduceMax.</summary>
    public static ReduceKind ReduceKindOf(Node node) => node.OpType switch
    {
        "ReduceSum" => ReduceKind.Sum,
        "ReduceMax" => ReduceKind.Max,
        _ => ReduceKind.Mean,
    };

    /// <summary>Where: three broadcast operands, any of them a constant (a bool condition becomes 0/1).</summary>
    protected override void LowerWhere(Node node)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank || node.Inputs.Count != 3)
        {
            throw Unsupported(node, $"Where needs three inputs and an output of rank <= {BroadcastGeometry.MaxRank}");
        }

        var (c, constantC, cShape) = Operand(node, 0);
        var (x, constantX, xShape) = Operand(node, 1);
        var (y, constantY, yShape) = Operand(node, 2);
        if (c is null && x is null && y is null)
        {
            throw Unsupported(node, "Where of three constants should have been folded");
        }

        _model.Ops.Add(new FWhere
        {
            NodeName = node.Name,
            Inputs = new[] { c, x, y }.Where(i => i is not null).Select(i => i!.Value).Distinct().ToArray(),
            Output = AddTensor(node.Outputs[0]),
            Geometry = WhereGeometry.Of(outShape, cShape, c, xShape, x, yShape, y), ConstantC = constantC, ConstantX = constantX, ConstantY = constantY,
        });
    }

    /// <summary>An activation, or a constant as floats (integer and bool constants converted: the float32 path carries
    /// integers and masks as float values).</summary>
    private (int? Id, float[]? Constant, int[] Shape) Operand(Node node, int index)
    {
        var name = node.Inputs[index];
        if (GraphEdit.Constant(_graph, name) is { } constant)
        {
            return (null, constant.FloatData ?? constant.IntData?.Select(v => (float)v).ToArray() ?? throw Unsupported(node, $"input {index} is not a numeric constant"), constant.Shape);
        }

        var id = Id(name, node);
        return (id, null, _model.Tensors[id].Shape);
    }

    protected override void LowerSoftmax(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var shape = _model.Tensors[input].Shape;
        var (outer, axisSize, inner) = SoftmaxView(node, shape, _graph.OpsetVersion, File);
        _model.Ops.Add(new FSoftmax
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Outer = outer, AxisSize = axisSize, Inner = inner,
        });
    }

    /// <summary>
    /// The [outer, axis, inner] view of a Softmax input. Opset 13 changed the meaning: before, the input is
    /// flattened to 2-D at <c>axis</c> (default 1) and normalized per row; from 13 on, along the single axis (default -1).
    /// </summary>
    public static (int Outer, int AxisSize, int Inner) SoftmaxView(Node node, int[] shape, long opset, string file)
    {
        var legacy = opset < 13;
        var axis = (int)node.GetInt("axis", legacy ? 1 : -1);
        if (axis < 0)
        {
            axis += shape.Length;
        }

        if (axis < 0 || axis >= Math.Max(shape.Length, 1))
        {
            throw new TinyMLException(ErrorCodes.MalformedModel, $"Softmax '{node.Name}': axis out of range for rank {shape.Length}", file);
        }

        var outer = shape.Take(axis).Aggregate(1, (p, d) => p * d);
        return legacy
            ? (outer, shape.Skip(axis).Aggregate(1, (p, d) => p * d), 1)
            : (outer, shape.Length == 0 ? 1 : shape[axis], shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d));
    }

    protected override void LowerBatchNorm(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var x = _model.Tensors[input].Shape;
        if (node.GetInt("training_mode", 0) != 0 || x.Length < 2)
        {
            throw Unsupported(node, "only inference-mode BatchNormalization on [N, C, ...] is supported");
        }

        var scale = Constant(node, 1).FloatData!;
        var bias = Constant(node, 2).FloatData!;
        var mean = Constant(node, 3).FloatData!;
        var variance = Constant(node, 4).FloatData!;
        var epsilon = node.GetFloat("epsilon", 1e-5f);
        var channels = x[1];
        if (new[] { scale, bias, mean, variance }.Any(p => p.Length != channels))
        {
            throw Unsupported(node, $"scale, B, mean and var must have {channels} values");
        }

        // Folded in double and rounded once, as FoldBatchNormPass does for a BatchNormalization after a Conv.
        var multiplier = new float[channels];
        var offset = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var factor = scale[c] / Math.Sqrt((double)variance[c] + epsilon);
            multiplier[c] = (float)factor;
            offset[c] = (float)(bias[c] - mean[c] * factor);
        }

        _model.Ops.Add(new FBatchNorm
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Batch = x[0], Channels = channels, Spatial = x.Skip(2).Aggregate(1, (p, d) => p * d),
            Multiplier = multiplier, Offset = offset,
        });
    }

    /// <summary>
    /// LayerNormalization as rows: ONNX normalizes over axes [axis, rank); Scale (and the optional B) must be constants
    /// covering those axes. Shared by the float and int8 lowerings and the float reference.
    /// </summary>
    public static (int Outer, int Inner, float[] Scale, float[] Bias) LayerNormView(Node node, Graph graph, string file)
    {
        var shape = graph.Tensor(node.Inputs[0]).Shape;
        var axis = (int)node.GetInt("axis", -1);
        axis = axis < 0 ? axis + shape.Length : axis;
        if (axis < 0 || axis >= shape.Length || node.Outputs.Count(o => o.Length > 0) > 1)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOp, $"LayerNormalization '{node.Name}': axis {axis} of rank {shape.Length}, or Mean/InvStdDev outputs, are not supported", file);
        }

        var inner = shape.Skip(axis).Aggregate(1, (p, d) => p * d);
        var outer = shape.Take(axis).Aggregate(1, (p, d) => p * d);
        float[] Parameter(int index, float fill)
        {
            if (node.Inputs.Count <= index || node.Inputs[index].Length == 0)
            {
                return Enumerable.Repeat(fill, inner).ToArray();
            }

            var data = GraphEdit.Constant(graph, node.Inputs[index])?.FloatData;
            return data switch
            {
                { Length: 1 } => Enumerable.Repeat(data[0], inner).ToArray(),
                _ when data?.Length == inner => data,
                _ => throw new TinyMLException(ErrorCodes.UnsupportedOp, $"LayerNormalization '{node.Name}': Scale/B must be constants of {inner} values", file),
            };
        }

        return (outer, inner, Parameter(1, 1f), Parameter(2, 0f));
    }

    private static (float Min, float Max) FusedActivation(Node node)
    {
        var min = node.Attributes.TryGetValue(FuseActivationPass.MinAttribute, out var a) ? a.Float ?? float.NegativeInfinity : float.NegativeInfinity;
        var max = node.Attributes.TryGetValue(FuseActivationPass.MaxAttribute, out var b) ? b.Float ?? float.PositiveInfinity : float.PositiveInfinity;
        return (min, max);
    }

    private int AddTensor(string name, int[]? shape = null)
    {
        var id = _model.Tensors.Count;
        _model.Tensors.Add(new LoweredTensor { Id = id, Name = name, Shape = shape ?? _graph.Tensor(name).Shape, ElementType = TensorElementType.Float32 });
        _ids[name] = id;
        return id;
    }

    private int Id(string name, Node? consumer) =>
        _ids.TryGetValue(name, out var id) ? id
        : throw new TinyMLException(ErrorCodes.UnsupportedOp,
            consumer is null ? $"graph output '{name}' is not produced by a supported float op"
                : $"input '{name}' of node '{consumer.Name}' ({consumer.OpType}) is a constant or unsupported value here; this input must be an activation", File);

    private Tensor Constant(Node node, int input) =>
        node.Inputs.Count > input && GraphEdit.Constant(_graph, node.Inputs[input]) is { FloatData: not null } t ? t
        : throw Unsupported(node, $"input {input} must be a constant float tensor");
}
