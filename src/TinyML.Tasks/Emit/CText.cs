namespace TinyML.Emit;

/// <summary>How every emitter writes C text: literals, comments, constant arrays, the header guard and line endings.</summary>
public static class CText
{
    /// <summary>C integer literal; INT32_MIN cannot be written directly (2147483648 does not fit an int).</summary>
    public static string Int(int value) =>
        value == int.MinValue ? "(-2147483647 - 1)" : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>C int64_t literal (INT64_MIN cannot be written directly either).</summary>
    public static string Long(long value) =>
        value == long.MinValue ? "(-9223372036854775807LL - 1)" : value.ToString(CultureInfo.InvariantCulture) + "LL";

    /// <summary>Shortest round-trip float32 literal, always with a decimal point or exponent and an f suffix.</summary>
    public static string FloatLiteral(float value)
    {
        if (!float.IsFinite(value))
        {
            // Model constants were checked at import (TML1008); this is a value computed at build time.
            throw new TinyMLException(ErrorCodes.NonFiniteConstant, $"a value computed at build time (folded constant, scale or multiplier) is {value}; C cannot hold it as a literal");
        }

        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (!text.Contains('.', StringComparison.Ordinal) && !text.Contains('E', StringComparison.Ordinal))
        {
            text += ".0";
        }

        return text + "f";
    }

    /// <summary>A float literal that may be infinite (activation bounds: Relu has no upper bound; an additive -inf mask);
    /// the file includes math.h for INFINITY.</summary>
    public static string FloatOrInfinity(float value) => value switch
    {
        float.PositiveInfinity => "INFINITY",
        float.NegativeInfinity => "-INFINITY",
        _ => FloatLiteral(value),
    };

    /// <summary>Text that can stand inside a C comment.</summary>
    public static string Comment(string text) => text.Replace("*/", "* /", StringComparison.Ordinal).Replace("/*", "/ *", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>A <c>static const</c> array of <paramref name="type"/>, <paramref name="perLine"/> values a line.</summary>
    public static void Array(StringBuilder sb, string type, string name, IEnumerable<string> values, int perLine)
    {
        var list = values.ToList();
        sb.Append(CultureInfo.InvariantCulture, $"static const {type} {name}[{list.Count}] = {{\n");
        Rows(sb, list, perLine);
        sb.Append("};\n");
    }

    /// <summary>The values of an array initializer, <paramref name="perLine"/> a line, each line indented and ending
    /// with a comma.</summary>
    public static void Rows(StringBuilder sb, IReadOnlyList<string> values, int perLine)
    {
        for (var i = 0; i < values.Count; i += perLine)
        {
            sb.Append("    ").Append(string.Join(", ", values.Skip(i).Take(perLine))).Append(",\n");
        }
    }

    /// <summary>A generated header's include guard, stdint.h and the C++ linkage, after its comment.</summary>
    public static string HeaderOpen(string upper) => $$"""
        #ifndef TML_{{upper}}_H
        #define TML_{{upper}}_H

        #include <stdint.h>

        #ifdef __cplusplus
        extern "C" {
        #endif


        """;

    /// <summary>The end of a generated header.</summary>
    public static string HeaderClose(string upper) => $$"""
        #ifdef __cplusplus
        }
        #endif

        #endif /* TML_{{upper}}_H */

        """;

    /// <summary>Line endings are \n on every OS so output is byte-identical everywhere.</summary>
    public static string Normalize(StringBuilder sb) => sb.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
}
