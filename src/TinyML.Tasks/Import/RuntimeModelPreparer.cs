using Google.Protobuf;
using TinyML.Import.Onnx.Proto;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Import;

/// <summary>
/// Makes the ONNX file ONNX Runtime calibrates on match what the compiler imported: pinned input shapes written into
/// the inputs, pinned constant inputs turned into initializers, and external data read in (the session is created
/// from bytes, so it cannot find the files itself, and must not read outside the model's folder either).
/// </summary>
internal static class RuntimeModelPreparer
{
    /// <param name="imported">The imported graph; its pinned constants carry the validated shapes and values.</param>
    public static void Apply(ModelProto model, string sourcePath, ImportOptions pins, Graph imported)
    {
        var graph = model.Graph;
        foreach (var input in graph.Input.ToList())
        {
            if (pins.ConstantInputs.ContainsKey(input.Name) && imported.Tensors.TryGetValue(input.Name, out var constant) && constant.IsConstant)
            {
                graph.Input.Remove(input);
                graph.Initializer.Add(ToProto(constant, input.Type?.TensorType?.ElemType ?? (int)DataType.Float));
            }
            else if (pins.InputShapes.TryGetValue(input.Name, out var shape) && input.Type?.TensorType is { } tensorType)
            {
                tensorType.Shape = new TensorShapeProto();
                tensorType.Shape.Dim.AddRange(shape.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
            }
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? Directory.GetCurrentDirectory();
        foreach (var tensor in EveryInitializer(graph).Where(t => t.HasDataLocation && t.DataLocation == TensorProto.Types.DataLocation.External))
        {
            var size = ElementSize((DataType)tensor.DataType);
            if (size == 0)
            {
                continue; // a type the compiler cannot import either; the importer has already refused it
            }

            var (_, count) = OnnxTensorConverter.CheckedShape(tensor.Dims, $"tensor '{tensor.Name}'", sourcePath);
            tensor.RawData = ByteString.CopyFrom(ExternalData.Read(tensor, count, size, $"tensor '{tensor.Name}'", sourcePath, folder));
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        }
    }

    private static IEnumerable<TensorProto> EveryInitializer(GraphProto graph) =>
        graph.Initializer.Concat(graph.Node.SelectMany(n => n.Attribute).SelectMany(a =>
            (a.T is null ? [] : new[] { a.T }).Concat(a.G is null ? [] : EveryInitializer(a.G))));

    private static int ElementSize(DataType type) => type switch
    {
        DataType.Float or DataType.Int32 => 4,
        DataType.Int64 => 8,
        DataType.Int8 or DataType.Uint8 or DataType.Bool => 1,
        _ => 0,
    };

    private static TensorProto ToProto(Tensor tensor, int elementType)
    {
        var proto = new TensorProto { Name = tensor.Name, DataType = elementType };
        proto.Dims.AddRange(tensor.Shape.Select(d => (long)d));
        switch ((DataType)elementType)
        {
            case DataType.Float:
                proto.FloatData.AddRange(tensor.FloatData ?? tensor.IntData!.Select(v => (float)v));
                break;
            case DataType.Int64:
                proto.Int64Data.AddRange(tensor.IntData ?? tensor.FloatData!.Select(v => (long)v));
                break;
            default: // int32, int8, uint8, bool travel in int32_data
                proto.Int32Data.AddRange((tensor.IntData ?? tensor.FloatData!.Select(v => (long)v)).Select(v => (int)v));
                break;
        }

        return proto;
    }
}
