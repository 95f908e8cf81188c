namespace TinyML.Cli;

/// <summary><c>tinymlc compile</c>: ONNX model -> int8 C source + header (Import, Optimize, Quantize, Plan, Emit).</summary>
public static class CompileCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        _ = args;
        log.WriteLine("tinymlc compile: not implemented yet");
        return 1;
    }
}
