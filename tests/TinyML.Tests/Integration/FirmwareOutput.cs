using System.Globalization;
using System.Text.RegularExpressions;

namespace TinyML.Tests.Integration;

/// <summary>One classified sample as printed by the template's main.c.</summary>
public sealed record FirmwareSample(int Index, int Label, int Predicted, double Score, IReadOnlyList<sbyte> Outputs);

/// <summary>
/// Parses what the demo firmware prints (in a build log or straight from `tinymlc run`):
/// <c>sample &lt;i&gt;: label &lt;l&gt; predicted &lt;p&gt; score &lt;0.000&gt; out &lt;q0&gt;,...</c>, then
/// <c>accuracy: &lt;c&gt;/&lt;n&gt;</c> and <c>instructions per inference: &lt;n&gt;</c> (or <c>ticks per inference</c>).
/// Public so other tests can compare the raw int8 outputs with the reference interpreter.
/// </summary>
public sealed partial class FirmwareOutput
{
    public required IReadOnlyList<FirmwareSample> Samples { get; init; }

    public int? Correct { get; init; }

    public int? Count { get; init; }

    /// <summary>Executed instructions per inference (emulated boards); null when the board only reports ticks.</summary>
    public long? InstructionsPerInference { get; init; }

    /// <summary>Timer ticks per inference, for boards with no instructions-per-tick factor (host).</summary>
    public long? TicksPerInference { get; init; }

    public static FirmwareOutput Parse(string text)
    {
        var samples = new List<FirmwareSample>();
        int? correct = null, count = null;
        long? instructions = null, ticks = null;
        foreach (var rawLine in text.Split('\n'))
        {
            // Build logs indent messages and may append " [project]": match anywhere, not at the line start.
            var line = rawLine.TrimEnd('\r');
            if (SampleLine().Match(line) is { Success: true } s)
            {
                samples.Add(new FirmwareSample(
                    Int(s.Groups["i"].Value),
                    Int(s.Groups["label"].Value),
                    Int(s.Groups["predicted"].Value),
                    double.Parse(s.Groups["score"].Value, CultureInfo.InvariantCulture),
                    [.. s.Groups["out"].Value.Split(',').Select(v => sbyte.Parse(v, CultureInfo.InvariantCulture))]));
            }
            else if (AccuracyLine().Match(line) is { Success: true } a)
            {
                correct = Int(a.Groups["correct"].Value);
                count = Int(a.Groups["count"].Value);
            }
            else if (CostLine().Match(line) is { Success: true } c)
            {
                var n = long.Parse(c.Groups["n"].Value, CultureInfo.InvariantCulture);
                if (c.Groups["unit"].Value == "instructions")
                {
                    instructions = n;
                }
                else
                {
                    ticks = n;
                }
            }
        }

        return new FirmwareOutput { Samples = samples, Correct = correct, Count = count, InstructionsPerInference = instructions, TicksPerInference = ticks };
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\bsample (?<i>\d+): label (?<label>-?\d+) predicted (?<predicted>-?\d+) score (?<score>-?\d+\.\d+) out (?<out>-?\d+(?:,-?\d+)*)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"\baccuracy: (?<correct>\d+)/(?<count>\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex AccuracyLine();

    [GeneratedRegex(@"\b(?<unit>instructions|ticks) per inference: (?<n>\d+)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex CostLine();
}
