namespace TinyML.Cli;

/// <summary>
/// Minimal <c>--name value</c> / <c>--flag</c> parser. Arguments may also come from a response file
/// (<c>@file</c>, one argument per line), which is how the MSBuild tasks call tinymlc.
/// </summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public CliArgs(IEnumerable<string> args)
    {
        string? pending = null;
        foreach (var arg in Expand(args))
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null)
                {
                    Add(pending, "true");
                }

                pending = arg[2..];
                var eq = pending.IndexOf('=');
                if (eq > 0)
                {
                    Add(pending[..eq], pending[(eq + 1)..]);
                    pending = null;
                }
            }
            else if (pending is not null)
            {
                Add(pending, arg);
                pending = null;
            }
            else
            {
                Positional.Add(arg);
            }
        }

        if (pending is not null)
        {
            Add(pending, "true");
        }
    }

    public List<string> Positional { get; } = [];

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> GetAll(string name) => _values.TryGetValue(name, out var v) ? v : [];

    public string Require(string name) =>
        Get(name) ?? throw new TinyMLException(ErrorCodes.InternalError, $"tinymlc: missing required option --{name}");

    public int GetInt(string name, int fallback) => Get(name) is { } s && int.TryParse(s, out var v) ? v : fallback;

    public bool GetBool(string name) => Get(name) is { } s && (s == "true" || s == "1");

    private void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list))
        {
            _values[name] = list = [];
        }

        list.Add(value);
    }

    /// <summary>
    /// An <c>@file</c> that cannot be read is an error, never an empty argument list: silently skipping it once turned a
    /// project path with a space (an unquoted <c>@path</c> split in two) into "missing required option --model".
    /// </summary>
    private static string[] ReadResponseFile(string path)
    {
        if (path.Length == 0)
        {
            throw new TinyMLException(ErrorCodes.ResponseFileMissing, "tinymlc: '@' must be followed by the path of a response file");
        }

        if (!File.Exists(path))
        {
            throw new TinyMLException(ErrorCodes.ResponseFileMissing,
                $"tinymlc: the response file '{path}' does not exist{(Directory.Exists(path) ? " (it is a folder)" : "")}");
        }

        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TinyMLException(ErrorCodes.ResponseFileMissing, $"tinymlc: cannot read the response file '{path}': {e.Message}");
        }
    }

    private static IEnumerable<string> Expand(IEnumerable<string> args)
    {
        foreach (var arg in args)
        {
            if (arg.StartsWith('@'))
            {
                foreach (var line in ReadResponseFile(arg[1..]))
                {
                    if (line.Length > 0)
                    {
                        yield return line;
                    }
                }
            }
            else
            {
                yield return arg;
            }
        }
    }
}
