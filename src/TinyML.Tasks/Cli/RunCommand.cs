namespace TinyML.Cli;

/// <summary><c>tinymlc run</c>: run firmware in the board's emulator (or natively for the host board).</summary>
public static class RunCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        _ = args;
        log.WriteLine("tinymlc run: not implemented yet");
        return 1;
    }
}
