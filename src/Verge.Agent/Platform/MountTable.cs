namespace Verge.Agent.Platform;

/// <summary>Questions about this process's mount table (<c>/proc/self/mountinfo</c>).</summary>
internal static class MountTable
{
    /// <summary>Whether something is mounted on <paramref name="path"/> (a directory or a file).</summary>
    public static bool IsMountPoint(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                var fields = line.Split(' ');
                if (fields.Length > 4 && Unescape(fields[4]) == full)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            // No mount table to read: nothing is known to be mounted.
        }

        return false;
    }

    /// <summary>The table escapes a space as \040, a tab as \011, a newline as \012 and a backslash as \134.</summary>
    private static string Unescape(string path) =>
        path.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
