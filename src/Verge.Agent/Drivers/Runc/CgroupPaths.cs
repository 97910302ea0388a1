using System.Globalization;

namespace Verge.Agent.Drivers.Runc;

/// <summary>
/// Where a container's cgroup lives and what it says: memory usage, CPU time and OOM kills, for cgroup v1 (one
/// hierarchy per controller) and v2 (the unified hierarchy).
/// </summary>
internal static class CgroupPaths
{
    private const string Root = "/sys/fs/cgroup";
    private const string Unified = "unified";
    private static readonly string[] Controllers = ["memory", "cpuacct", "pids"];

    public static bool IsUnified() => File.Exists(Path.Combine(Root, "cgroup.controllers"));

    /// <summary>The cgroupsPath runc gets: PARENT/ID, absolute or relative to runc's own cgroup like the parent.</summary>
    public static string Join(string parent, string id) => parent.TrimEnd('/') + "/" + id;

    /// <summary>Null when the memory controller is usable, otherwise why not.</summary>
    public static string? MemoryControllerAvailable()
    {
        if (IsUnified())
        {
            return File.ReadAllText(Path.Combine(Root, "cgroup.controllers")).Split(' ', '\n').Contains("memory")
                ? null
                : "the cgroup v2 memory controller is not enabled";
        }

        foreach (var line in File.ReadLines("/proc/cgroups"))
        {
            var fields = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 4 && fields[0] == "memory")
            {
                return fields[3] == "1" && Directory.Exists(Path.Combine(Root, "memory"))
                    ? null
                    : "the cgroup memory controller is disabled (boot with cgroup_enable=memory)";
            }
        }

        return "the kernel has no cgroup memory controller";
    }

    /// <summary>
    /// The directory of each controller for a container at <paramref name="cgroupsPath"/>, as runc resolves it: an
    /// absolute path from the controller's root, a relative one under the calling process's own cgroup (which the
    /// monitor and runc inherit from the agent).
    /// </summary>
    public static Dictionary<string, string> Resolve(string cgroupsPath)
    {
        var own = OwnCgroups();
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (IsUnified())
        {
            var baseDir = cgroupsPath.StartsWith('/') ? Root : Root + own.GetValueOrDefault(string.Empty, "/");
            result[Unified] = Path.Combine(baseDir, cgroupsPath.TrimStart('/'));
            return result;
        }

        foreach (var controller in Controllers)
        {
            var mount = Path.Combine(Root, controller);
            var baseDir = cgroupsPath.StartsWith('/') ? mount : mount + own.GetValueOrDefault(controller, "/");
            result[controller] = Path.Combine(baseDir, cgroupsPath.TrimStart('/'));
        }

        return result;
    }

    /// <summary>How many processes the kernel OOM-killed in the cgroup; 0 when it cannot tell.</summary>
    public static long ReadOomKills(IReadOnlyDictionary<string, string> cgroups)
    {
        if (cgroups.TryGetValue(Unified, out var unified))
        {
            return ReadKeyed(Path.Combine(unified, "memory.events"), "oom_kill") ?? 0;
        }

        if (!cgroups.TryGetValue("memory", out var memory))
        {
            return 0;
        }

        // oom_kill exists since Linux 4.13; before it, hitting the limit (failcnt) is the best sign there is.
        return ReadKeyed(Path.Combine(memory, "memory.oom_control"), "oom_kill")
            ?? ReadNumber(Path.Combine(memory, "memory.failcnt")) ?? 0;
    }

    /// <summary>The working set (usage minus inactive file cache, as the kubelet reports it) and CPU seconds.</summary>
    public static TaskStats? ReadStats(IReadOnlyDictionary<string, string> cgroups)
    {
        long? memory;
        double? cpu;
        if (cgroups.TryGetValue(Unified, out var unified))
        {
            memory = ReadNumber(Path.Combine(unified, "memory.current")) is { } current
                ? Math.Max(0, current - (ReadKeyed(Path.Combine(unified, "memory.stat"), "inactive_file") ?? 0))
                : null;
            cpu = ReadKeyed(Path.Combine(unified, "cpu.stat"), "usage_usec") is { } usec ? usec / 1e6 : null;
        }
        else
        {
            memory = cgroups.TryGetValue("memory", out var memoryDir) && ReadNumber(Path.Combine(memoryDir, "memory.usage_in_bytes")) is { } usage
                ? Math.Max(0, usage - (ReadKeyed(Path.Combine(memoryDir, "memory.stat"), "total_inactive_file") ?? 0))
                : null;
            cpu = cgroups.TryGetValue("cpuacct", out var cpuDir) && ReadNumber(Path.Combine(cpuDir, "cpuacct.usage")) is { } nanos
                ? nanos / 1e9
                : null;
        }

        return memory is null && cpu is null ? null : new TaskStats(memory, cpu);
    }

    private static Dictionary<string, string> OwnCgroups()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3)
            {
                foreach (var controller in parts[1].Split(','))
                {
                    result[controller] = parts[2];
                }
            }
        }

        return result;
    }

    private static long? ReadNumber(string path)
    {
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? ReadKeyed(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var parts = line.Split(' ');
                if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                {
                    return value;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }
}
