namespace TinyML.Import;

/// <summary>
/// What the user pins at build time because the model leaves it open: shapes of inputs with dynamic dimensions
/// (<c>InputShape="input=1x3x96x96"</c>) and inputs that are really configuration (<c>ConstantInputs="sr=16000"</c>),
/// which become constants so the control flow and shape logic depending on them fold away.
/// </summary>
public sealed record ImportOptions
{
    public static ImportOptions Default { get; } = new();

    /// <summary>Input name -> full static shape; overrides symbolic dimensions (fixed ones must agree).</summary>
    public IReadOnlyDictionary<string, int[]> InputShapes { get; init; } = new Dictionary<string, int[]>(StringComparer.Ordinal);

    /// <summary>Input name -> values (one number, or a comma-separated list in row-major order).</summary>
    public IReadOnlyDictionary<string, double[]> ConstantInputs { get; init; } = new Dictionary<string, double[]>(StringComparer.Ordinal);

    /// <summary>Parses <c>name=1,3,96,96</c> or <c>name=1x3x96x96</c> (CLI and MSBuild spellings).</summary>
    public static (string Name, int[] Shape) ParseInputShape(string text, OptionSpelling spelling = OptionSpelling.Cli)
    {
        var example = spelling == OptionSpelling.MSBuild ? "InputShape=\"input=1x3x96x96\" (';' between inputs: \"input=1x512;h=2x1x64\")"
            : "--input-shape input=1,3,96,96 (repeated for each input)";
        var what = spelling == OptionSpelling.MSBuild ? "InputShape entry" : "--input-shape";
        var (name, value) = SplitAssignment(text, ErrorCodes.DynamicShape, $"{what} '{text}' must look like name=dimensions, e.g. {example}");
        var parts = value.Split([',', 'x', 'X'], StringSplitOptions.TrimEntries);
        var shape = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] <= 0)
            {
                throw new TinyMLException(ErrorCodes.DynamicShape,
                    $"{what} '{text}': dimension '{parts[i]}' is not a positive integer (expected e.g. {example})");
            }
        }

        return (name, shape);
    }

    /// <summary>Parses <c>name=16000</c> or <c>name=0.5,1,2</c>.</summary>
    public static (string Name, double[] Values) ParseConstantInput(string text, OptionSpelling spelling = OptionSpelling.Cli)
    {
        var example = spelling == OptionSpelling.MSBuild ? "ConstantInputs=\"sr=16000\" (a list is name=1,2,3; ';' between inputs)"
            : "--constant-input sr=16000 (a list is name=1,2,3; repeated for each input)";
        var what = spelling == OptionSpelling.MSBuild ? "ConstantInputs entry" : "--constant-input";
        var (name, value) = SplitAssignment(text, ErrorCodes.ControlFlowOnRuntimeInput, $"{what} '{text}' must look like name=value, e.g. {example}");
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
            {
                throw new TinyMLException(ErrorCodes.ControlFlowOnRuntimeInput,
                    $"{what} '{text}': '{parts[i]}' is not a finite number (expected e.g. {example})");
            }
        }

        return (name, values);
    }

    /// <summary>
    /// Builds the options from repeated CLI values and/or semicolon-separated lists (MSBuild metadata reaches tinymlc
    /// as one argument holding the whole list). Naming one input twice is an error, not "the last one wins".
    /// </summary>
    public static ImportOptions FromStrings(IEnumerable<string> inputShapes, IEnumerable<string> constantInputs, OptionSpelling spelling = OptionSpelling.Cli)
    {
        var shapes = ByInputName(inputShapes, text => ParseInputShape(text, spelling), ErrorCodes.DynamicShape,
            spelling == OptionSpelling.MSBuild ? "InputShape" : "--input-shape");
        var constants = ByInputName(constantInputs, text => ParseConstantInput(text, spelling), ErrorCodes.ControlFlowOnRuntimeInput,
            spelling == OptionSpelling.MSBuild ? "ConstantInputs" : "--constant-input");
        return new ImportOptions { InputShapes = shapes, ConstantInputs = constants };
    }

    /// <summary>
    /// The entries of one option (repeated values and ';' lists) parsed and keyed by input name; an input named twice
    /// is the option's error <paramref name="code"/>, said with the option's <paramref name="spelling"/>.
    /// </summary>
    private static Dictionary<string, T> ByInputName<T>(IEnumerable<string> values, Func<string, (string Name, T Value)> parse, string code, string spelling)
    {
        var byName = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var text in values.SelectMany(SplitList))
        {
            var (name, value) = parse(text);
            if (!byName.TryAdd(name, value))
            {
                throw new TinyMLException(code, $"{spelling} gives input '{name}' twice");
            }
        }

        return byName;
    }

    private static IEnumerable<string> SplitList(string text) =>
        text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static (string Name, string Value) SplitAssignment(string text, string code, string message)
    {
        var eq = text.IndexOf('=');
        if (eq <= 0 || eq == text.Length - 1 || text[..eq].Trim().Length == 0)
        {
            throw new TinyMLException(code, message);
        }

        return (text[..eq].Trim(), text[(eq + 1)..].Trim());
    }
}
