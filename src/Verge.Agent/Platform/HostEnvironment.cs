namespace Verge.Agent.Platform;

/// <summary>Facts about the host the agent needs before using host tools: who it runs as and what is installed.</summary>
internal static class HostEnvironment
{
    /// <summary>Whether the effective uid is 0 (from /proc/self/status, without P/Invoke).</summary>
    public static bool IsRoot() => EffectiveUid() == 0;

    /// <summary>The effective uid (from /proc/self/status), or null when it cannot be read.</summary>
    public static long? EffectiveUid()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return long.TryParse(line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture, out var uid)
                    ? uid
                    : null;
            }
        }

        return null;
    }

    /// <summary>The full path of a tool (an absolute path, or a name looked up in PATH and the sbin dirs), or null.</summary>
    public static string? FindTool(string tool) =>
        tool.StartsWith('/')
            ? File.Exists(tool) ? tool : null
            : (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
                .Where(dir => dir.Length > 0)
                .Select(dir => Path.Combine(dir, tool))
                .FirstOrDefault(File.Exists);
}
