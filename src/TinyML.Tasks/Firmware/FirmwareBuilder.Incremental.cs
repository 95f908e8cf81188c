using System.ComponentModel;
using System.Security.Cryptography;
using TinyML.Emit;

namespace TinyML.Firmware;

/// <summary>Incremental builds: an object is rebuilt when its source or a header it read changed, the image when an object did.</summary>
public static partial class FirmwareBuilder
{
    /// <summary><c>main-1a2b3c4d.o</c>: readable, and two <c>main.c</c> in different folders do not collide.</summary>
    private static string ObjectPathFor(string objectDir, string source)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)))[..8];
        return Path.Combine(objectDir, $"{Path.GetFileNameWithoutExtension(source)}-{hash}.o");
    }

    private static bool IsUpToDate(CompileJob job, DateTime flagsTime)
    {
        if (!File.Exists(job.ObjectPath) || !File.Exists(job.DependencyPath))
        {
            return false;
        }

        var objectTime = File.GetLastWriteTimeUtc(job.ObjectPath);
        if (objectTime < flagsTime)
        {
            return false;
        }

        var inputs = ReadDependencies(job.DependencyPath).Append(job.Source);
        return inputs.All(input => File.Exists(input) && File.GetLastWriteTimeUtc(input) <= objectTime);
    }

    /// <summary>The prerequisites in a gcc <c>-MMD</c> file (<c>obj.o: a.c b.h \</c> ...; make's escapes: <c>\ </c> for a
    /// space, <c>\#</c> for '#', <c>$$</c> for '$').</summary>
    internal static IEnumerable<string> ReadDependencies(string dependencyFile)
    {
        var text = File.ReadAllText(dependencyFile).Replace("\\\r\n", " ").Replace("\\\n", " ");
        var result = new List<string>();
        foreach (var rule in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = rule.IndexOf(": ", StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var current = new StringBuilder();
            var prerequisites = rule[(colon + 2)..];
            for (var i = 0; i < prerequisites.Length; i++)
            {
                if (prerequisites[i] == '\\' && i + 1 < prerequisites.Length && prerequisites[i + 1] is ' ' or '#')
                {
                    current.Append(prerequisites[i + 1]);
                    i++;
                }
                else if (prerequisites[i] == '$' && i + 1 < prerequisites.Length && prerequisites[i + 1] == '$')
                {
                    current.Append('$');
                    i++;
                }
                else if (char.IsWhiteSpace(prerequisites[i]))
                {
                    Flush();
                }
                else
                {
                    current.Append(prerequisites[i]);
                }
            }

            Flush();

            void Flush()
            {
                if (current.Length > 0)
                {
                    result.Add(current.ToString());
                    current.Clear();
                }
            }
        }

        return result.Distinct(StringComparer.Ordinal);
    }

    private static bool NeedsLink(string firmwarePath, List<CompileJob> jobs, string linkFlagsFile, string boardDirectory)
    {
        if (!File.Exists(firmwarePath))
        {
            return true;
        }

        var firmwareTime = File.GetLastWriteTimeUtc(firmwarePath);
        return File.GetLastWriteTimeUtc(linkFlagsFile) > firmwareTime
            || jobs.Any(j => File.GetLastWriteTimeUtc(j.ObjectPath) > firmwareTime)
            // A board's linker script is an input of the link too.
            || Directory.GetFiles(boardDirectory, "*.ld").Any(script => File.GetLastWriteTimeUtc(script) > firmwareTime);
    }
}
