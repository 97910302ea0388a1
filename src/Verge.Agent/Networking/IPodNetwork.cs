namespace Verge.Agent.Networking;

/// <summary>
/// Gives a pod its own network namespace and address (CNI: bridge, host-local, loopback, portmap), or nothing for
/// hostNetwork pods. Set-up is idempotent per pod UID: calling it again for a pod that already has a namespace
/// returns the existing one, which is how the agent re-attaches after a restart.
/// </summary>
public interface IPodNetwork
{
    /// <summary>Whether pod networking works here (plugins present, running as root), and why not.</summary>
    Task<(bool Available, string Detail)> CheckAsync(CancellationToken ct);

    Task<PodNetworkStatus> SetUpAsync(PodNetworkRequest request, CancellationToken ct);

    /// <summary>Releases the pod's address, port mappings and namespace. Idempotent.</summary>
    Task TearDownAsync(string podUid, CancellationToken ct);

    /// <summary>
    /// The UIDs of the pods that have a network here: set up, or torn down only halfway (an agent that died during a
    /// set-up or tear-down). The agent tears down those of pods it no longer runs.
    /// </summary>
    IReadOnlyList<string> ListPods();
}

public sealed record PodNetworkRequest(string PodUid, string Namespace, string Name, IReadOnlyList<PortMapping> HostPorts);

/// <summary>A hostPort mapping: traffic to the node's HostPort reaches the pod's ContainerPort.</summary>
public sealed record PortMapping(int HostPort, int ContainerPort, string Protocol);

/// <param name="NamespacePath">The network namespace path containers join (e.g. /var/run/netns/verge-...).</param>
/// <param name="PodIp">The pod's IPv4 address on the node bridge.</param>
public sealed record PodNetworkStatus(string NamespacePath, string PodIp);
