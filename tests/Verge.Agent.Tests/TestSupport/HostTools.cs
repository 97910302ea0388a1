namespace Verge.Agent.Tests.TestSupport;

/// <summary>Checks for host tools the integration tests need; a missing tool fails the test naming its package.</summary>
internal static class HostTools
{
    public static string Require(string command, string package)
    {
        string[] candidates = command.StartsWith('/')
            ? [command]
            : [.. (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':').Append("/usr/sbin").Append("/sbin").Select(dir => Path.Combine(dir, command))];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"'{command}' is missing: apt-get install -y {package}");
    }

    public static void RequireRoot()
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("this test runs containers and network namespaces and must run as root");
        }
    }
}
