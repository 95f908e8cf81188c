using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TinyML.Import;

namespace TinyML.Quantize;

/// <summary>Session setup and input handling shared by <see cref="OrtCalibrator"/> and <see cref="OrtRunner"/>.</summary>
internal static class OrtSessions
{
    /// <summary>
    /// One thread, sequential execution: calibration ranges and reference outputs must be identical on every run
    /// and machine (and the build machine's cores belong to the rest of the build).
    /// </summary>
    public static SessionOptions DeterministicOptions() => new()
    {
        IntraOpNumThreads = 1,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        // Every ONNX Runtime error reaches the user as a coded diagnostic carrying ONNX Runtime's message; its own log
        // would print the same error again, raw and in colour, on the build's stderr.
        LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
    };

    /// <summary>
    /// Until the returned scope is disposed, <see cref="Acquire"/> on this thread hands out the session it made last
    /// when it is asked for the same model bytes again: a build calibrates and then measures accuracy on the same
    /// model with the same tensors exposed, and loading a large graph (seconds for 10,000 nodes) once is enough.
    /// </summary>
    public static IDisposable ReuseSessions() => new SessionCache();

    /// <summary>A session for these model bytes: the scope's cached one (not owned), or a new one the lease disposes.</summary>
    public static SessionLease Acquire(byte[] modelBytes, string modelPath)
    {
        if (SessionCache.Current is not { } cache)
        {
            return new SessionLease(Create(modelBytes, modelPath), owned: true);
        }

        if (cache.Session is null || !cache.ModelBytes.AsSpan().SequenceEqual(modelBytes))
        {
            cache.Replace(modelBytes, Create(modelBytes, modelPath));
        }

        return new SessionLease(cache.Session!, owned: false);
    }

    /// <summary>A session from <see cref="Acquire"/>; disposing it disposes the session only when no scope keeps it.</summary>
    public readonly struct SessionLease(InferenceSession session, bool owned) : IDisposable
    {
        public InferenceSession Session { get; } = session;

        public void Dispose()
        {
            if (owned)
            {
                Session.Dispose();
            }
        }
    }

    private sealed class SessionCache : IDisposable
    {
        [ThreadStatic]
        private static SessionCache? _current;

        private readonly SessionCache? _outer;

        public SessionCache()
        {
            _outer = _current;
            _current = this;
        }

        public static SessionCache? Current => _current;

        public byte[] ModelBytes { get; private set; } = [];

        public InferenceSession? Session { get; private set; }

        public void Replace(byte[] modelBytes, InferenceSession session)
        {
            Session?.Dispose();
            (ModelBytes, Session) = (modelBytes, session);
        }

        public void Dispose()
        {
            Session?.Dispose();
            Session = null;
            _current = _outer;
        }
    }

    public static InferenceSession Create(byte[] modelBytes, string modelPath)
    {
        using var options = DeterministicOptions();
        try
        {
            return new InferenceSession(modelBytes, options);
        }
        catch (OnnxRuntimeException e) when (IsInvalidModel(e.Message))
        {
            // The importer accepted it, but ONNX's own type/shape checks do not: the model itself is broken, the same
            // TML1001 whichever precision (the float32 path never runs ONNX Runtime).
            throw OnnxModelReader.Malformed(modelPath, $"ONNX Runtime rejects it: {e.Message}");
        }
        catch (OnnxRuntimeException e)
        {
            throw Failed(modelPath, $"ONNX Runtime cannot load the model: {e.Message}");
        }
    }

    /// <summary>The single float32 model input and its shape with a dynamic batch (index 0) fixed to 1.</summary>
    public static (string Name, long[] Shape) SingleFloatInput(InferenceSession session, string modelPath)
    {
        if (session.InputMetadata.Count != 1)
        {
            throw Failed(modelPath, $"the model has {session.InputMetadata.Count} inputs ({string.Join(", ", session.InputMetadata.Keys)}); exactly one is supported");
        }

        return FloatInput(session, session.InputNames[0], modelPath);
    }

    /// <summary>Every model input in graph order (e.g. x, then RNN state), each float32 with a dynamic batch fixed to 1.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> FloatInputs(InferenceSession session, string modelPath) =>
        session.InputNames.Select(n => FloatInput(session, n, modelPath)).ToList();

    private static (string Name, long[] Shape) FloatInput(InferenceSession session, string name, string modelPath)
    {
        var metadata = session.InputMetadata[name];
        if (!metadata.IsTensor || metadata.ElementDataType != OrtElementType.Float)
        {
            throw Failed(modelPath, $"model input '{name}' is not a float32 tensor");
        }

        var shape = new long[metadata.Dimensions.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            var dim = metadata.Dimensions[i];
            if (dim > 0)
            {
                shape[i] = dim;
            }
            else if (i == 0)
            {
                shape[i] = 1;
            }
            else
            {
                throw Failed(modelPath, $"model input '{name}' has dynamic dimension at index {i}");
            }
        }

        return (name, shape);
    }

    public static void CheckSampleLength(float[] sample, long[] shape, int sampleIndex, string modelPath)
    {
        var expected = shape.Aggregate(1L, (a, b) => a * b);
        if (sample.Length != expected)
        {
            throw new TinyMLException(ErrorCodes.BadCalibrationFile,
                $"sample {sampleIndex} has {sample.Length} values but the input of '{modelPath}' has shape [{string.Join(",", shape)}] = {expected} values",
                file: modelPath);
        }
    }

    /// <summary>ONNX Runtime's wording for a graph that fails ONNX type/shape inference or graph validation.</summary>
    private static bool IsInvalidModel(string message) =>
        message.Contains("ShapeInferenceError", StringComparison.Ordinal) || message.Contains("TypeInferenceError", StringComparison.Ordinal)
        || message.Contains("Type Error:", StringComparison.Ordinal)
        || message.Contains("[ErrorCode:InvalidGraph]", StringComparison.Ordinal);

    public static TinyMLException Failed(string modelPath, string what) =>
        new(ErrorCodes.CalibrationFailed, $"{what} ('{modelPath}')", file: modelPath);
}
