using System.Globalization;

namespace Verge.Agent.Drivers.HostProcess;

/// <summary>
/// Best-effort cgroup v1 limits for host processes: a directory per task under the memory and pids hierarchies
/// (ROOT/memory/PARENT/TASK, ROOT/pids/PARENT/TASK). Only root can create them, and only on cgroup v1 (or hybrid)
/// machines; elsewhere the process driver runs tasks without limits and says so in its log.
/// </summary>
internal static class CgroupV1
{
    /// <summary>Whether the controller's v1 hierarchy is mounted and writable here.</summary>
    public static bool Available(string root, string controller) =>
        HostProcesses.IsRoot && File.Exists(Path.Combine(root, controller, "cgroup.procs"));

    /// <summary>Creates the task's cgroup under a controller and returns its directory.</summary>
    public static string Create(string root, string controller, string parent, string id)
    {
        var dir = Path.Combine(root, controller, parent, id);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void SetMemoryLimit(string dir, long bytes)
    {
        Write(dir, "memory.limit_in_bytes", bytes);

        // Without swap accounting the limit alone lets a task swap; with it, memory+swap gets the same limit.
        if (File.Exists(Path.Combine(dir, "memory.memsw.limit_in_bytes")))
        {
            Write(dir, "memory.memsw.limit_in_bytes", bytes);
        }
    }

    public static void SetPidsLimit(string dir, long pids) => Write(dir, "pids.max", pids);

    /// <summary>A CFS quota of <paramref name="millis"/> millicores per 100 ms period (limits.cpu).</summary>
    public static void SetCpuQuota(string dir, long millis)
    {
        Write(dir, "cpu.cfs_period_us", 100_000);
        Write(dir, "cpu.cfs_quota_us", Math.Max(1_000, millis * 100));
    }

    /// <summary>CPU shares from requests.cpu, as the kubelet maps them (1024 per core, at least 2).</summary>
    public static void SetCpuShares(string dir, long millis) => Write(dir, "cpu.shares", Math.Max(2, millis * 1024 / 1000));

    /// <summary>How many times the kernel's OOM killer struck in this memory cgroup (oom_kill in memory.oom_control).</summary>
    public static long OomKills(string dir)
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(dir, "memory.oom_control")))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal))
                {
                    return long.Parse(line["oom_kill ".Length..], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0;
        }

        return 0;
    }

    public static long? MemoryUsage(string dir)
    {
        try
        {
            return long.Parse(File.ReadAllText(Path.Combine(dir, "memory.usage_in_bytes")).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Kills whatever is left in the cgroup and removes it; a cgroup that is gone already is fine.</summary>
    public static async Task RemoveAsync(string dir, TimeProvider time, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 50 && Directory.Exists(dir); attempt++)
        {
            try
            {
                foreach (var line in File.ReadAllLines(Path.Combine(dir, "cgroup.procs")))
                {
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                    {
                        HostProcesses.Signal(pid, HostProcesses.SigKill);
                    }
                }

                // A cgroup directory holds only kernel files: rmdir, not a recursive delete.
                Directory.Delete(dir);
                return;
            }
            catch (IOException)
            {
                // Busy while killed processes are still exiting: try again shortly.
                await Task.Delay(TimeSpan.FromMilliseconds(20), time, ct);
            }
        }
    }

    private static void Write(string dir, string file, long value) =>
        File.WriteAllText(Path.Combine(dir, file), value.ToString(CultureInfo.InvariantCulture));
}
