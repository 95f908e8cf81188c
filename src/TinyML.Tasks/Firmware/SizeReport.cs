using System.Text.Json;

namespace TinyML.Firmware;

/// <summary>Writes <c>&lt;name&gt;.size.txt</c> (for people) and <c>&lt;name&gt;.size.json</c> (for tools) beside the .elf.</summary>
public static class SizeReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// <c>tinyml: Demo.elf (nrf52840): flash 23,456 / 1,048,576 B (2.2 %), RAM 12,345 / 262,144 B (4.7 %) incl. 2,048 B stack</c>.
    /// The stack is named because it is a reserve, not a measurement: the firmware prints its real high-water when run.
    /// </summary>
    public static string SummaryLine(Board board, string firmwarePath, MemoryUsage m)
    {
        var stack = m.Sections.FirstOrDefault(s => s.Name == ".stack" && (board.Ram?.Contains(s.Address) ?? false));
        var stackText = stack is null ? "" : string.Create(Invariant, $" incl. {stack.Size:N0} B stack");
        return string.Create(Invariant,
            $"tinyml: {Path.GetFileName(firmwarePath)} ({board.Name}): flash {m.FlashUsed:N0} / {m.FlashBudget:N0} B ({m.FlashPercent:F1} %), RAM {m.RamUsed:N0} / {m.RamBudget:N0} B ({m.RamPercent:F1} %){stackText}");
    }

    public static void Write(Board board, string firmwarePath, MemoryUsage m, IReadOnlyList<string> sizeToolOutput)
    {
        var basePath = Path.ChangeExtension(firmwarePath, null);
        File.WriteAllText(basePath + ".size.txt", Text(board, firmwarePath, m, sizeToolOutput));
        File.WriteAllBytes(basePath + ".size.json", Json(board, firmwarePath, m));
    }

    private static string Text(Board board, string firmwarePath, MemoryUsage m, IReadOnlyList<string> sizeToolOutput)
    {
        var text = new StringBuilder();
        text.AppendLine(SummaryLine(board, firmwarePath, m));
        text.AppendLine();
        text.AppendLine(string.Create(Invariant, $"{"section",-20} {"address",10} {"bytes",12}  counts as"));
        foreach (var s in m.Sections)
        {
            text.AppendLine(string.Create(Invariant, $"{s.Name,-20} 0x{s.Address:x8} {s.Size,12:N0}  {Region(board, s)}"));
        }

        if (sizeToolOutput.Count > 0)
        {
            text.AppendLine();
            text.AppendLine($"{board.ToolPrefix}size -A -d:");
            foreach (var line in sizeToolOutput)
            {
                text.AppendLine(line);
            }
        }

        return text.ToString();
    }

    private static byte[] Json(Board board, string firmwarePath, MemoryUsage m)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("board", board.Name);
            json.WriteString("firmware", Path.GetFileName(firmwarePath));
            WriteBudget(json, "flash", m.FlashUsed, m.FlashBudget, m.FlashPercent);
            WriteBudget(json, "ram", m.RamUsed, m.RamBudget, m.RamPercent);
            json.WriteStartArray("sections");
            foreach (var s in m.Sections)
            {
                json.WriteStartObject();
                json.WriteString("name", s.Name);
                json.WriteNumber("address", s.Address);
                json.WriteNumber("size", s.Size);
                json.WriteBoolean("flash", s.OccupiesFileImage);
                json.WriteBoolean("ram", board.Ram?.Contains(s.Address) ?? false);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteBudget(Utf8JsonWriter json, string name, ulong used, ulong budget, double percent)
    {
        json.WriteStartObject(name);
        json.WriteNumber("used", used);
        json.WriteNumber("budget", budget);
        json.WriteNumber("percent", Math.Round(percent, 2));
        json.WriteEndObject();
    }

    private static string Region(Board board, ElfSection s)
    {
        var ram = board.Ram?.Contains(s.Address) ?? false;
        return (s.OccupiesFileImage, ram) switch
        {
            (true, true) => "flash + RAM",
            (true, false) => "flash",
            (false, true) => "RAM",
            _ => "-",
        };
    }
}
