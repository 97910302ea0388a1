namespace Verge.Agent.Tests.Support;

/// <summary>The machine's processes as /proc shows them, for tests that check what a driver left running.</summary>
internal static class ProcScan
{
    /// <summary>The live processes (not zombies) other than this one whose command line contains <paramref name="text"/>.</summary>
    public static List<int> Naming(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && pid != Environment.ProcessId && IsRunning(pid))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(text, StringComparison.Ordinal))
                    {
                        found.Add(pid);
                    }
                }
                catch (IOException)
                {
                    // The process ended while we looked.
                }
            }
        }

        return found;
    }

    /// <summary>Whether a process exists and is not a zombie.</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
