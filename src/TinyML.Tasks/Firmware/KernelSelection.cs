using System.Text.RegularExpressions;

namespace TinyML.Firmware;

/// <summary>
/// Which kernel sources a firmware needs: those defining a <c>tml_</c> symbol that the firmware's own sources (the
/// project's C, the generated model C, the board code) name, and, transitively, the symbols those kernels name. A KWS
/// model needs 6 of the 25 kernel files (9 sources with its main.c, model and board code, instead of 28).
/// </summary>
/// <remarks>
/// The answer comes from the C text itself (comments and literals removed): a kernel file <em>defines</em> the
/// non-static functions and data at file scope named <c>tml_*</c>; any file <em>names</em> every <c>tml_*</c> identifier
/// it contains (and those inside the function bodies of the kernel headers it includes, for inline helpers). Naming is
/// deliberately generous (a name in a macro or an unused declaration of the project's code selects its kernel): an
/// extra kernel costs a compile, a missing one a link error. A symbol reached in a way no text shows (a macro in a
/// project header that builds the name) still links: <see cref="FirmwareBuilder"/> compiles the kernel an undefined
/// reference asks for and links again (<see cref="ForUndefinedSymbols"/>).
/// <para>
/// A kernel may define a family of entry points with one function-like macro (tml_pw_s8.c's
/// <c>TML_CLAMP_MODE_DEFINITIONS(tml_pw_s8, ...)</c> defines <c>tml_pw_s8_relu</c> and five more by <c>name ## _relu</c>),
/// or call another kernel's function through one: before the scan, every invocation of a function-like macro that the kernel or a header it includes defines is
/// replaced by the macro's body, arguments substituted and <c>##</c> pasted (<see cref="CSource.ExpandMacros"/>), so
/// an invocation at file scope defines what its body defines, and any invocation names what its body names, as if
/// written out. A macro only defined, or invoked inside a function, defines nothing. Without it, a kernel reached only
/// through such a name would never be selected and the link would fail (reading the symbols of compiled objects
/// instead would cost a compile of every kernel per build).
/// </para>
/// </remarks>
public sealed partial class KernelSelection
{
    private readonly IReadOnlyList<string> _kernels;
    private readonly Dictionary<string, string> _definedIn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _definitions = new(StringComparer.Ordinal);

    private KernelSelection(IReadOnlyList<string> kernels, string includeDir)
    {
        _kernels = kernels;
        var headerCache = new Dictionary<string, Header>(StringComparer.Ordinal);
        foreach (var kernel in kernels)
        {
            var text = CSource.Strip(File.ReadAllText(kernel));
            var names = new HashSet<string>(StringComparer.Ordinal);
            var macros = CSource.FunctionMacros(text);
            foreach (var header in IncludedHeaders(text, Path.GetDirectoryName(kernel)!, includeDir, headerCache))
            {
                names.UnionWith(header.Names);
                foreach (var (name, macro) in header.Macros)
                {
                    // The kernel's own definition of a name wins (a redefinition would not compile anyway).
                    macros.TryAdd(name, macro);
                }
            }

            text = CSource.ExpandMacros(text, macros);
            var definitions = CSource.ExternalDefinitions(text).ToHashSet(StringComparer.Ordinal);
            foreach (var symbol in definitions)
            {
                // Two kernel files defining one symbol would not link anyway; the first (ordinal order) is kept.
                _definedIn.TryAdd(symbol, kernel);
            }

            names.UnionWith(CSource.Names(text));
            _names[kernel] = names;
            _definitions[kernel] = definitions;
        }
    }

    /// <summary>Indexes the kernel sources (<c>src/*.c</c> of <paramref name="kernelsRoot"/>, given in <paramref name="kernels"/>).</summary>
    public static KernelSelection Index(IReadOnlyList<string> kernels, string kernelsRoot) =>
        new(kernels, Path.Combine(kernelsRoot, "include"));

    /// <summary>The <c>tml_</c> symbols a kernel file of the index defines, as the selection reads them (macros expanded).</summary>
    internal IReadOnlySet<string> DefinitionsOf(string kernel) => _definitions[kernel];

    /// <summary>The kernel files defining a symbol named by <paramref name="roots"/> or by a selected kernel, in library order.</summary>
    public IReadOnlyList<string> For(IEnumerable<string> roots)
    {
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in roots)
        {
            named.UnionWith(CSource.Names(CSource.Strip(File.ReadAllText(root))));
        }

        return Close(named, []);
    }

    /// <summary>
    /// The kernels (not yet in <paramref name="selected"/>) that define the symbols a failed link reported undefined,
    /// with what they need in turn; empty when some undefined symbol is no kernel's (a genuine user error).
    /// </summary>
    public IReadOnlyList<string> ForUndefinedSymbols(IEnumerable<string> linkerOutput, IReadOnlyCollection<string> selected)
    {
        var undefined = linkerOutput.Select(line => UndefinedReference().Match(line)).Where(m => m.Success)
            .Select(m => m.Groups["symbol"].Value).ToHashSet(StringComparer.Ordinal);
        if (undefined.Count == 0 || undefined.Any(symbol => !_definedIn.TryGetValue(symbol, out var file) || selected.Contains(file)))
        {
            return [];
        }

        return Close(undefined, selected.ToHashSet(StringComparer.Ordinal));
    }

    private List<string> Close(HashSet<string> named, HashSet<string> already)
    {
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>(named);
        while (pending.TryDequeue(out var symbol))
        {
            if (_definedIn.TryGetValue(symbol, out var file) && !already.Contains(file) && chosen.Add(file))
            {
                foreach (var next in _names[file])
                {
                    pending.Enqueue(next);
                }
            }
        }

        return _kernels.Where(chosen.Contains).ToList();
    }

    /// <summary>A kernel header as the selection reads it: the names inside its function bodies and its function-like macros.</summary>
    private sealed record Header(HashSet<string> Names, IReadOnlyDictionary<string, CMacro> Macros, string Text);

    /// <summary>The quoted headers a kernel includes (found beside it or in include/), recursively.</summary>
    private static IEnumerable<Header> IncludedHeaders(string strippedText, string dir, string includeDir, Dictionary<string, Header> cache)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<(string Text, string Dir)>([(strippedText, dir)]);
        while (pending.TryDequeue(out var current))
        {
            foreach (Match include in QuotedInclude().Matches(current.Text))
            {
                var name = include.Groups["path"].Value;
                var path = new[] { Path.Combine(current.Dir, name), Path.Combine(includeDir, name) }.FirstOrDefault(File.Exists);
                if (path is null || !seen.Add(Path.GetFullPath(path)))
                {
                    continue;
                }

                // The cache saves reading and parsing a header again, never its own includes: a kernel that reaches a
                // header only through another one still needs what that header's inline bodies call.
                if (!cache.TryGetValue(path, out var header))
                {
                    var text = CSource.Strip(File.ReadAllText(path));
                    header = new Header(CSource.NamesInBodies(text), CSource.FunctionMacros(text), text);
                    cache[path] = header;
                }

                pending.Enqueue((header.Text, Path.GetDirectoryName(path)!));
                yield return header;
            }
        }
    }

    // GNU ld: "main.c:(.text.main+0x6): undefined reference to `tml_relu_s8'" (‘…’ in UTF-8 locales).
    [GeneratedRegex(@"undefined reference to [`‘'](?<symbol>tml_\w+)['’]")]
    private static partial Regex UndefinedReference();

    [GeneratedRegex(@"^[ \t]*#[ \t]*include[ \t]*""(?<path>[^""\n]+)""", RegexOptions.Multiline)]
    private static partial Regex QuotedInclude();
}

/// <summary>Just enough C lexing to find <c>tml_</c> names and file-scope definitions.</summary>
internal static partial class CSource
{
    /// <summary>
    /// The text with comments, string and character literals blanked (quoted <c>#include</c> paths kept, for
    /// <see cref="KernelSelection"/>) and line continuations joined; newlines stay, so directives stay on their lines.
    /// </summary>
    public static string Strip(string text)
    {
        var sb = new StringBuilder(text.Length);
        var lineStart = true;
        var inInclude = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                i++;
                continue;
            }

            if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                var end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 1;
                sb.Append(' ');
                continue;
            }

            if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }

                continue;
            }

            if ((c == '"' || c == '\'') && !inInclude)
            {
                // Skip the literal, honouring escapes; an unterminated one ends at the line.
                for (i++; i < text.Length && text[i] != c && text[i] != '\n'; i++)
                {
                    if (text[i] == '\\')
                    {
                        i++;
                    }
                }

                sb.Append(' ');
                continue;
            }

            if (c == '\n')
            {
                lineStart = true;
                inInclude = false;
            }
            else if (lineStart && c == '#')
            {
                lineStart = false;
                var rest = text.AsSpan(i + 1).TrimStart(" \t");
                inInclude = rest.StartsWith("include", StringComparison.Ordinal);
            }
            else if (!char.IsWhiteSpace(c))
            {
                lineStart = false;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    /// <summary>Every <c>tml_*</c> identifier in stripped text.</summary>
    public static HashSet<string> Names(string stripped) =>
        TmlIdentifier().Matches(stripped).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>The <c>tml_*</c> identifiers inside braces (function bodies) of stripped text, i.e. not in declarations.</summary>
    public static HashSet<string> NamesInBodies(string stripped)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in Tokens(stripped))
        {
            if (token.Depth > 0 && token.Text.StartsWith("tml_", StringComparison.Ordinal))
            {
                names.Add(token.Text);
            }
        }

        return names;
    }

    /// <summary>
    /// <c>tml_*</c> functions (a parameter list followed by a body) and data (an identifier followed by <c>=</c> or
    /// <c>[</c>) defined at file scope, not <c>static</c>, <c>extern</c> or <c>typedef</c>.
    /// </summary>
    public static IEnumerable<string> ExternalDefinitions(string stripped)
    {
        var tokens = Tokens(stripped).ToList();
        var declarationStart = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Depth == 0 && (token.Text is ";" or "}" || token.Text == "{" && i > 0 && tokens[i - 1].Text == "extern"))
            {
                declarationStart = i + 1;
                continue;
            }

            if (token.Depth != 0 || !token.Text.StartsWith("tml_", StringComparison.Ordinal) || i + 1 >= tokens.Count)
            {
                continue;
            }

            var storage = tokens.Skip(declarationStart).Take(i - declarationStart).Select(t => t.Text).ToList();
            if (storage.Contains("static") || storage.Contains("extern") || storage.Contains("typedef") || storage.Contains("("))
            {
                continue;
            }

            var next = tokens[i + 1].Text;
            if (next == "(")
            {
                // Skip the parameter list; a body follows a definition, ';' a prototype.
                var depth = 0;
                var j = i + 1;
                for (; j < tokens.Count; j++)
                {
                    depth += tokens[j].Text == "(" ? 1 : tokens[j].Text == ")" ? -1 : 0;
                    if (depth == 0)
                    {
                        break;
                    }
                }

                if (j + 1 < tokens.Count && tokens[j + 1].Text == "{")
                {
                    yield return token.Text;
                }
            }
            else if (next is "=" or "[")
            {
                yield return token.Text;
            }
        }
    }

    /// <summary>
    /// The function-like macros <c>#define NAME(params) body</c> of stripped text (continuations already joined, so a
    /// definition is one line); the first definition of a name is kept (a later one under another <c>#if</c> branch is
    /// an alternative, not a change).
    /// </summary>
    public static Dictionary<string, CMacro> FunctionMacros(string stripped)
    {
        var macros = new Dictionary<string, CMacro>(StringComparer.Ordinal);
        foreach (Match m in FunctionMacroDefinition().Matches(stripped))
        {
            var parameters = m.Groups["params"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            macros.TryAdd(m.Groups["name"].Value, new CMacro(parameters, m.Groups["body"].Value.Trim()));
        }

        return macros;
    }

    /// <summary>
    /// The text with each invocation of one of <paramref name="macros"/> (outside preprocessor lines) replaced by the
    /// macro's body, the arguments substituted for the parameters and <c>##</c> pasted, and again over the result for
    /// invocations a body makes (a few rounds: the preprocessor's rule against expanding a macro inside itself is
    /// approximated by the bound). An expansion inside a function body stays inside it, so it names but never defines.
    /// </summary>
    public static string ExpandMacros(string stripped, IReadOnlyDictionary<string, CMacro> macros)
    {
        for (var round = 0; round < MaxExpansionRounds && macros.Count > 0; round++)
        {
            var tokens = Tokens(stripped).ToList();
            var expanded = new StringBuilder(stripped.Length);
            var copied = 0;
            for (var i = 0; i + 1 < tokens.Count; i++)
            {
                if (tokens[i].Index < copied || tokens[i + 1].Text != "("
                    || !macros.TryGetValue(tokens[i].Text, out var macro)
                    || Arguments(stripped, tokens[i + 1].Index) is not { } call || !macro.Accepts(call.Arguments))
                {
                    continue;
                }

                expanded.Append(stripped, copied, tokens[i].Index - copied).Append(macro.Expand(call.Arguments));
                copied = call.End;
            }

            if (copied == 0)
            {
                break;
            }

            stripped = expanded.Append(stripped, copied, stripped.Length - copied).ToString();
        }

        return stripped;
    }

    private const int MaxExpansionRounds = 4;

    /// <summary>The arguments of the call whose '(' is at <paramref name="open"/> (split at its top-level commas) and the index after its ')'.</summary>
    private static (List<string> Arguments, int End)? Arguments(string text, int open)
    {
        var arguments = new List<string>();
        var depth = 0;
        var start = open + 1;
        for (var i = open; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')' when --depth == 0:
                    arguments.Add(text[start..i].Trim());
                    return (arguments, i + 1);
                case ',' when depth == 1:
                    arguments.Add(text[start..i].Trim());
                    start = i + 1;
                    break;
            }
        }

        return null;
    }

    private readonly record struct Token(string Text, int Depth, int Index);

    /// <summary>
    /// Identifiers and punctuation with the brace depth at each; preprocessor lines are skipped, and the braces of a
    /// linkage block (<c>extern "C" { ... }</c>, the string already blanked) do not count as depth.
    /// </summary>
    private static IEnumerable<Token> Tokens(string stripped)
    {
        var depth = 0;
        var braces = new Stack<bool>();
        var previous = "";
        var lineStart = 0;
        foreach (var line in stripped.Split('\n'))
        {
            var offset = lineStart;
            lineStart += line.Length + 1;
            if (line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            foreach (Match m in TokenPattern().Matches(line))
            {
                var text = m.Value;
                if (text == "}" && braces.TryPop(out var counted) && counted)
                {
                    depth--;
                }

                yield return new Token(text, depth, offset + m.Index);
                if (text == "{")
                {
                    var linkage = previous == "extern" && depth == 0;
                    braces.Push(!linkage);
                    depth += linkage ? 0 : 1;
                }

                previous = text;
            }
        }
    }

    [GeneratedRegex(@"\btml_\w+")]
    private static partial Regex TmlIdentifier();

    [GeneratedRegex(@"^[ \t]*#[ \t]*define[ \t]+(?<name>[A-Za-z_]\w*)\((?<params>[^)]*)\)(?<body>.*)$", RegexOptions.Multiline)]
    private static partial Regex FunctionMacroDefinition();

    [GeneratedRegex(@"[A-Za-z_]\w*|[{}();=\[\]]")]
    private static partial Regex TokenPattern();
}

/// <summary>A function-like C macro as <see cref="CSource"/> expands it: parameters (<c>...</c> for variadic) and body.</summary>
internal sealed partial record CMacro(IReadOnlyList<string> Parameters, string Body)
{
    private bool Variadic => Parameters.Count > 0 && Parameters[^1] == "...";

    /// <summary>Whether a call with these arguments matches the parameters (<c>X()</c> passes one empty argument).</summary>
    public bool Accepts(IReadOnlyList<string> arguments) =>
        Variadic ? arguments.Count >= Parameters.Count - 1
        : arguments.Count == Parameters.Count || (Parameters.Count == 0 && arguments is [""]);

    /// <summary>The body with the arguments substituted, <c>#x</c> blanked (literals are blank in stripped text) and <c>##</c> pasted.</summary>
    public string Expand(IReadOnlyList<string> arguments)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < Parameters.Count; i++)
        {
            if (Parameters[i] == "...")
            {
                values["__VA_ARGS__"] = string.Join(", ", arguments.Skip(i));
                break;
            }

            values[Parameters[i]] = i < arguments.Count ? arguments[i] : "";
        }

        var substituted = BodyToken().Replace(Body, m =>
            m.Groups["stringized"].Success ? " "
            : values.TryGetValue(m.Value, out var value) ? value
            : m.Value);
        return Paste().Replace(substituted, "");
    }

    // "##" first, so that a paste is never read as two stringizings; "#x" stringizes a parameter.
    [GeneratedRegex(@"##|(?<stringized>#\s*[A-Za-z_]\w*)|[A-Za-z_]\w*")]
    private static partial Regex BodyToken();

    [GeneratedRegex(@"\s*##\s*")]
    private static partial Regex Paste();
}
