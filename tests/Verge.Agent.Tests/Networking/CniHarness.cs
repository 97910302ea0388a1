using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Networking;
using Verge.Agent.Tests.Support;

namespace Verge.Agent.Tests.Networking;

/// <summary>
/// A CNI pod network on a bridge and /24 of its own, with state in a temp dir. Disposing tears down every pod set
/// up through it, deletes the bridge and the temp dir.
/// </summary>
internal sealed class CniHarness : IAsyncDisposable
{
    private readonly HashSet<string> _pods = [];

    public CniHarness(string? pluginDir = null, string? subnet = null)
    {
        Tools.RequireRoot();
        Tools.Require("/usr/lib/cni/bridge", "containernetworking-plugins");
        Tools.Require("ip", "iproute2");
        Tools.Require("iptables", "iptables");
        var tag = Guid.NewGuid().ToString("N")[..6];
        StateDir = Directory.CreateTempSubdirectory("verge-cni-").FullName;
        Octet = Random.Shared.Next(1, 255);
        Options = new CniOptions
        {
            PluginDir = pluginDir ?? "/usr/lib/cni",
            StateDir = StateDir,
            BridgeName = "vgt" + tag,
            Subnet = subnet ?? $"10.213.{Octet}.0/24",
            NetnsPrefix = $"vgt-{tag}-",
        };
        Network = NewNetwork();
    }

    public CniOptions Options { get; }

    public string StateDir { get; }

    public int Octet { get; }

    public CniPodNetwork Network { get; }

    public CniPodNetwork NewNetwork() => new(Options, NullLogger<CniPodNetwork>.Instance);

    public PodNetworkRequest Pod(params PortMapping[] hostPorts)
    {
        var uid = Guid.NewGuid().ToString();
        _pods.Add(uid);
        return new PodNetworkRequest(uid, "default", "web-" + uid[..5], hostPorts);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var uid in _pods)
            {
                await Network.TearDownAsync(uid, CancellationToken.None);
            }
        }
        finally
        {
            // Whatever tear-down left (it failed, or the test broke it on purpose): remove it by name.
            foreach (var uid in _pods)
            {
                await RunIpAsync("netns", "delete", Options.NetnsPrefix + uid);
            }

            await RunIpAsync("link", "delete", Options.BridgeName);
            Directory.Delete(StateDir, recursive: true);
        }
    }

    private static async Task RunIpAsync(params string[] arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo("ip", arguments) { RedirectStandardError = true };
        using var ip = System.Diagnostics.Process.Start(info)!;
        await ip.StandardError.ReadToEndAsync();
        await ip.WaitForExitAsync();
    }
}
