namespace Verge.ApiServer.Hosting;

/// <summary>
/// Under workstation GC, .NET sizes the gen0 budget from the CPU's cache size, which on Linux it reads from sysconf
/// and sysfs. Some virtual machines expose none; the budget then falls to its floor (a few MiB), and a server as busy
/// as this one collects several times as often: at 5,000 hollow nodes and 50,000 pods, 3,176 gen0 collections and 381
/// pods/s, against 1,002 and 572 pods/s with <c>DOTNET_GCgen0size=0x1000000</c> (docs/api-server.md, "Garbage
/// collection"). <c>verge</c> runs under server GC, which collected a tenth as often there with nothing set, so
/// this only matters for a host that runs the server under workstation GC. The runtime reads the variable once, at
/// start, and runtimeconfig.json has no key for it, so all the server can do is say so when it starts.
/// </summary>
internal static class GcGen0Budget
{
    /// <summary>The variable that sets the budget, and what to set it to.</summary>
    public const string Advice = "DOTNET_GCgen0size=0x1000000";

    /// <summary>
    /// True under workstation GC when the gen0 budget is left to the runtime (no <c>DOTNET_GCgen0size</c> or
    /// <c>COMPlus_GCgen0size</c>) on a Linux machine whose first CPU lists no cache size under
    /// <paramref name="cacheDirectory"/>.
    /// </summary>
    public static bool FallsToItsFloor(
        string cacheDirectory = "/sys/devices/system/cpu/cpu0/cache",
        Func<string, string?>? environment = null,
        bool? serverGc = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!OperatingSystem.IsLinux() || (serverGc ?? System.Runtime.GCSettings.IsServerGC) || !string.IsNullOrEmpty(environment("DOTNET_GCgen0size")) || !string.IsNullOrEmpty(environment("COMPlus_GCgen0size")))
        {
            return false;
        }

        try
        {
            return !Directory.Exists(cacheDirectory) || !Directory.EnumerateDirectories(cacheDirectory, "index*")
                .Any(index => File.Exists(Path.Combine(index, "size")) && File.ReadAllText(Path.Combine(index, "size")).Trim() is { Length: > 0 } size && size != "0K");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
