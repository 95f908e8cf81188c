namespace TinyML.Cli;

/// <summary><c>tinymlc firmware</c>: compile and link C sources for a board, write .elf/.hex/.bin and a size report.</summary>
public static class FirmwareCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        _ = args;
        log.WriteLine("tinymlc firmware: not implemented yet");
        return 1;
    }
}
