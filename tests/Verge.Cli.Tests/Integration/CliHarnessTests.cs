using System.Diagnostics;

namespace Verge.Cli.Tests.Integration;

/// <summary>The harness itself: what a test's <c>verge up</c> leaves on the machine goes with the test.</summary>
public sealed class CliHarnessTests
{
    [Fact]
    public void Dispose_DeletesTheNetworkNamespacesOfPodsUpsAgentSetUp()
    {
        Assert.True(Environment.UserName == "root", "this test makes a network namespace and must run as root");
        var uid = Guid.NewGuid().ToString();
        var name = new Verge.Agent.Networking.CniOptions().NetnsPrefix + uid;
        var cli = new CliHarness();
        try
        {
            // What an agent leaves when `up` stops while a pod has its network: the namespace and its CNI record.
            cli.WriteFile(Path.Combine(".verge", "agent", "cni", "pods", uid + ".json"), "{}");
            Assert.Equal(0, Ip("netns", "add", name));
        }
        finally
        {
            cli.Dispose();
        }

        Assert.False(File.Exists(Path.Combine("/run/netns", name)), $"network namespace {name} was left behind");
    }

    private static int Ip(params string[] arguments)
    {
        using var ip = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true })!;
        ip.StandardError.ReadToEnd();
        ip.WaitForExit();
        return ip.ExitCode;
    }
}
