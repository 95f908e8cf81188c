using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TinyML.Import;

namespace TinyML.Quantize;

/// <summary>
/// Runs the original float model in ONNX Runtime: the reference our compiled int8 code is verified against.
/// </summary>
public static class OrtRunner
{
    /// <summary>Runs one input (the model's single float input, batch 1) and returns the first graph output.</summary>
    public static float[] Run(string onnxPath, float[] input) => RunMany(onnxPath, [input])[0];

    /// <summary>One run of a model with several float inputs (by name, with their shapes); every output in graph order.</summary>
    public static IReadOnlyList<float[]> RunMulti(string onnxPath, IReadOnlyList<(string Name, float[] Data, long[] Shape)> inputs)
    {
        var bytes = OnnxModelReader.ReadBytes(onnxPath);
        using var session = OrtSessions.Create(bytes, onnxPath);
        using var runOptions = new RunOptions();
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape)).ToList();
        try
        {
            var outputNames = session.OutputMetadata.Keys.ToList();
            using var outputs = session.Run(runOptions, inputs.Select(i => i.Name).ToList(), values, outputNames);
            return outputs.Select(o => o.GetTensorDataAsSpan<float>().ToArray()).ToList();
        }
        catch (OnnxRuntimeException e)
        {
            throw OrtSessions.Failed(onnxPath, $"ONNX Runtime failed: {e.Message}");
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    /// <summary>
    /// A stream of runs through one session (a recurrent model carrying its state): <paramref name="feeds"/> gets the
    /// run index and the previous run's outputs (null for the first) and returns the float inputs; int64 inputs (a
    /// sample rate) stay the same for every run. Returns every output of every run, in graph order.
    /// </summary>
    public static IReadOnlyList<float[][]> RunStream(string onnxPath, int runs,
        Func<int, float[][]?, IReadOnlyList<(string Name, float[] Data, long[] Shape)>> feeds,
        IReadOnlyList<(string Name, long[] Data, long[] Shape)> int64Inputs)
    {
        var bytes = OnnxModelReader.ReadBytes(onnxPath);
        using var session = OrtSessions.Create(bytes, onnxPath);
        using var runOptions = new RunOptions();
        var outputNames = session.OutputMetadata.Keys.ToList();
        var results = new List<float[][]>();
        for (var run = 0; run < runs; run++)
        {
            var floats = feeds(run, run == 0 ? null : results[^1]);
            var values = floats.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape))
                .Concat(int64Inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape))).ToList();
            try
            {
                using var outputs = session.Run(runOptions, floats.Select(i => i.Name).Concat(int64Inputs.Select(i => i.Name)).ToList(), values, outputNames);
                results.Add(outputs.Select(o => o.GetTensorDataAsSpan<float>().ToArray()).ToArray());
            }
            catch (OnnxRuntimeException e)
            {
                throw OrtSessions.Failed(onnxPath, $"ONNX Runtime failed on run {run}: {e.Message}");
            }
            finally
            {
                values.ForEach(v => v.Dispose());
            }
        }

        return results;
    }

    /// <summary>Runs many inputs through one session; returns the first graph output of each, in order.</summary>
    public static IReadOnlyList<float[]> RunMany(string onnxPath, IReadOnlyList<float[]> inputs)
    {
        var bytes = OnnxModelReader.ReadBytes(onnxPath);
        using var session = OrtSessions.Create(bytes, onnxPath);
        var (inputName, inputShape) = OrtSessions.SingleFloatInput(session, onnxPath);
        var outputName = session.OutputMetadata.Keys.First();
        if (session.OutputMetadata[outputName].ElementDataType != OrtElementType.Float)
        {
            throw OrtSessions.Failed(onnxPath, $"model output '{outputName}' is not a float32 tensor");
        }

        using var runOptions = new RunOptions();
        var results = new List<float[]>(inputs.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            OrtSessions.CheckSampleLength(inputs[i], inputShape, i, onnxPath);
            using var inputValue = OrtValue.CreateTensorValueFromMemory(inputs[i], inputShape);
            try
            {
                using var outputs = session.Run(runOptions, [inputName], [inputValue], [outputName]);
                results.Add(outputs[0].GetTensorDataAsSpan<float>().ToArray());
            }
            catch (OnnxRuntimeException e)
            {
                throw OrtSessions.Failed(onnxPath, $"ONNX Runtime failed on input {i}: {e.Message}");
            }
        }

        return results;
    }
}
