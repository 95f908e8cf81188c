namespace TinyML.MSBuild;

/// <summary>
/// The command line the tasks give <c>dotnet</c>, quoted by the rules .NET (and the Windows C runtime) split command
/// lines with, so every argument arrives whole: paths with spaces, quotes, parentheses, ';', '%', '#' or non-ASCII
/// characters included. No MSBuild types, so it is testable without an MSBuild runtime.
/// </summary>
public static class ToolCommandLine
{
    /// <summary><c>exec "&lt;compiler&gt;" &lt;command&gt; "@&lt;rsp&gt;"</c>.</summary>
    /// <remarks>The response file lives in the project's obj/ folder, so its path has whatever the project path has;
    /// unquoted, a space once split it in two and the compiler saw no options at all.</remarks>
    public static string For(string compilerPath, string command, string? responseFile)
    {
        var builder = new StringBuilder();
        Append(builder, "exec");
        Append(builder, compilerPath);
        Append(builder, command);
        if (!string.IsNullOrEmpty(responseFile))
        {
            Append(builder, "@" + responseFile);
        }

        return builder.ToString();
    }

    /// <summary>Appends one argument: as is when it needs no quoting, else in double quotes with backslashes doubled
    /// only where they precede a quote (the MSVCRT / .NET argument-splitting rules).</summary>
    public static void Append(StringBuilder builder, string argument)
    {
        if (builder.Length > 0)
        {
            builder.Append(' ');
        }

        if (argument.Length > 0 && !argument.Any(c => char.IsWhiteSpace(c) || c == '"'))
        {
            builder.Append(argument);
            return;
        }

        builder.Append('"');
        for (var i = 0; i < argument.Length; i++)
        {
            var backslashes = 0;
            while (i < argument.Length && argument[i] == '\\')
            {
                backslashes++;
                i++;
            }

            if (i == argument.Length)
            {
                builder.Append('\\', backslashes * 2); // before the closing quote
            }
            else if (argument[i] == '"')
            {
                builder.Append('\\', (backslashes * 2) + 1).Append('"');
            }
            else
            {
                builder.Append('\\', backslashes).Append(argument[i]);
            }
        }

        builder.Append('"');
    }
}
