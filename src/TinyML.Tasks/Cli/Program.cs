namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc</c>: the compiler's command line. The MSBuild tasks run it out of process; users may run it directly:
/// <code>
///   tinymlc compile  --model kws.onnx --name kws --board nrf52840 --calibration calib/ --out obj/tinyml
///   tinymlc firmware --board nrf52840 --project Demo --source main.c --source obj/tinyml/kws.c --out bin/
///   tinymlc run      --board nrf52840 --firmware bin/Demo.elf
///   tinymlc validate @obj/tinyml/kws.compile.rsp --kernels kernels/ --work obj/tinyml/validate/kws
///   tinymlc bench    --model-rsp obj/tinyml/kws.compile.rsp --out bin/ --work obj/tinyml/bench --kernels kernels/
/// </code>
/// Diagnostics are printed in MSBuild's canonical format with stable TML codes; exit code 0 = success.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine("usage: tinymlc <compile|firmware|espidf|run|profile|flash|arena-group|validate|bench> [options]   (see README.md)");
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            // Inside the try: reading a response file can fail with a coded error too.
            var options = new CliArgs(args.Skip(1));
            return args[0] switch
            {
                "compile" => CompileCommand.Run(options, Console.Out),
                "firmware" => FirmwareCommand.Run(options, Console.Out),
                "run" => RunCommand.Run(options, Console.Out),
                "arena-group" => ArenaGroupCommand.Run(options, Console.Out),
                "espidf" => EspIdfCommand.Run(options, Console.Out),
                "profile" => ProfileCommand.Run(options, Console.Out),
                "flash" => FlashCommandLine.Run(options, Console.Out),
                "validate" => ValidateCommand.Run(options, Console.Out),
                "bench" => BenchCommand.Run(options, Console.Out),
                _ => throw new TinyMLException(ErrorCodes.InternalError, $"tinymlc: unknown command '{args[0]}'"),
            };
        }
        catch (TinyMLException ex)
        {
            Console.Out.WriteLine(new Diagnostic(Severity.Error, ex.Code, ex.Message, ex.File, ex.Line, ex.Column).ToCanonicalString());
            return 1;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Never a stack trace for the user: one coded line, the detail only on request.
            Console.Out.WriteLine(new Diagnostic(Severity.Error, ErrorCodes.InternalError,
                $"internal compiler error: {ex.GetType().Name}: {ex.Message} (set TINYML_DEBUG=1 for details)").ToCanonicalString());
            if (Environment.GetEnvironmentVariable("TINYML_DEBUG") == "1")
            {
                Console.Error.WriteLine(ex);
            }

            return 1;
        }
    }
}
