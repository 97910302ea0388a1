using System.Globalization;
using System.Runtime.InteropServices;

namespace Verge.Agent.Drivers.HostProcess;

/// <summary>
/// The few host process facts the process and docker drivers need: signalling a process or process group, and
/// telling whether a pid still names the process that was started (pids are reused, so the start time from
/// /proc/PID/stat is kept beside it).
/// </summary>
internal static class HostProcesses
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private const int Esrch = 3;

    /// <summary>Sends a signal; returns false when no such process (or group) exists.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (Kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Esrch)
        {
            return false;
        }

        throw new DriverException($"cannot send signal {signal} to {pid}: errno {errno}");
    }

    /// <summary>Sends a signal to every process of a process group; false when the group is empty.</summary>
    public static bool SignalGroup(int pgid, int signal) => Signal(-pgid, signal);

    /// <summary>
    /// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or null when the pid does not
    /// exist or is a zombie (exited, not yet reaped).
    /// </summary>
    public static long? StartTicks(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }

        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = stat[(close + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0] is "Z" or "X")
        {
            return null;
        }

        return long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? ticks : null;
    }

    /// <summary>
    /// When <paramref name="pid"/> started (boot time plus its start ticks at 100 per second), or null when it does not
    /// exist. Up to a second early: the kernel gives the boot time in whole seconds.
    /// </summary>
    public static DateTimeOffset? StartTime(int pid)
    {
        if (StartTicks(pid) is not { } ticks)
        {
            return null;
        }

        try
        {
            foreach (var line in File.ReadLines("/proc/stat"))
            {
                if (line.StartsWith("btime ", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan("btime ".Length).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var boot))
                {
                    return DateTimeOffset.FromUnixTimeSeconds(boot).AddMilliseconds(ticks * 10);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Whether <paramref name="pid"/> is alive and is the process that started at <paramref name="startTicks"/>.</summary>
    public static bool IsAlive(int pid, long startTicks) => startTicks > 0 && StartTicks(pid) == startTicks;

    /// <summary>
    /// Sends a signal to every live process of session <paramref name="sid"/> that started no earlier than
    /// <paramref name="notBeforeTicks"/> (so a recycled session id cannot name strangers); returns how many got it.
    /// A task's session holds its process group and any groups its processes made, but not processes that left with
    /// setsid of their own.
    /// </summary>
    public static int SignalSession(int sid, long notBeforeTicks, int signal)
    {
        var signalled = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            var close = stat.LastIndexOf(')');
            var fields = close < 0 ? [] : stat[(close + 2)..].Split(' ');
            if (fields.Length < 20 || fields[0] is "Z" or "X"
                || !int.TryParse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var session) || session != sid
                || !long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) || ticks < notBeforeTicks)
            {
                continue;
            }

            if (Signal(pid, signal))
            {
                signalled++;
            }
        }

        return signalled;
    }

    /// <summary>User and system CPU time of a process in seconds, or null.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / 100.0;
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Resident memory of one process in bytes (VmRSS), or null.</summary>
    public static long? ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }

    /// <summary>This boot's id: a task recorded under another boot id died with the machine.</summary>
    public static string BootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    public static bool IsRoot => Environment.IsPrivilegedProcess;

    // A blittable signature: no marshalling code is generated, so this is safe under Native AOT without
    // AllowUnsafeBlocks (which LibraryImport would need).
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
