using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Verge.Agent.Networking;

/// <summary>Settings of <see cref="CniPodNetwork"/>: where the plugins are and what the node's pod bridge looks like.</summary>
public sealed partial class CniOptions
{
    /// <summary>The directory holding the CNI plugin binaries (Debian's containernetworking-plugins).</summary>
    public string PluginDir { get; set; } = "/usr/lib/cni";

    /// <summary>Per-pod results and host-local's address leases; under the agent data dir so they survive restarts.</summary>
    public string StateDir { get; set; } = "/var/lib/verge/cni";

    /// <summary>The node's pod bridge (at most 15 characters, a Linux interface name).</summary>
    public string BridgeName { get; set; } = "verge0";

    /// <summary>
    /// The node's pod subnet (IPv4). The default avoids the ranges other runtimes pick by default (podman and
    /// containerd 10.88/16, flannel 10.244/16, k3s 10.42/16, Docker 172.17/16).
    /// </summary>
    public string Subnet { get; set; } = "10.213.0.0/16";

    /// <summary>Prefix of the named network namespaces (/var/run/netns/PREFIX{podUid}).</summary>
    public string NetnsPrefix { get; set; } = "verge-";

    /// <summary>The CNI network name (host-local keeps its leases per network name).</summary>
    public string NetworkName { get; set; } = "verge";

    /// <summary>How long one plugin or ip command may run before it is killed.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(PluginDir) || !Path.IsPathRooted(PluginDir))
        {
            throw new ArgumentException($"CNI plugin dir must be an absolute path, got '{PluginDir}'");
        }

        if (string.IsNullOrWhiteSpace(StateDir) || !Path.IsPathRooted(StateDir))
        {
            throw new ArgumentException($"CNI state dir must be an absolute path, got '{StateDir}'");
        }

        if (!InterfaceName().IsMatch(BridgeName))
        {
            throw new ArgumentException($"bridge name must be 1-15 letters, digits, '-', '_' or '.', got '{BridgeName}'");
        }

        if (!IPNetwork.TryParse(Subnet, out var subnet) || subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork || subnet.PrefixLength > 30)
        {
            throw new ArgumentException($"pod subnet must be an IPv4 CIDR of /30 or larger, got '{Subnet}'");
        }

        if (!NamePart().IsMatch(NetnsPrefix) || !NamePart().IsMatch(NetworkName) || NetworkName.Length == 0)
        {
            throw new ArgumentException("netns prefix and network name may hold only letters, digits, '-', '_' and '.'");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CommandTimeout, TimeSpan.Zero, nameof(CommandTimeout));
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}$")]
    private static partial Regex InterfaceName();

    [GeneratedRegex("^[A-Za-z0-9_.-]*$")]
    private static partial Regex NamePart();
}
