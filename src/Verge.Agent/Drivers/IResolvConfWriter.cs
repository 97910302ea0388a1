using Verge.Core.Core;

namespace Verge.Agent.Drivers;

/// <summary>
/// A driver that writes each container's /etc/resolv.conf from the node's and the pod's DNS settings (runc). The pod
/// worker asks it, once per pod start, what the resolver's limits cut from a pod's settings, and records each message
/// as a <c>DNSConfigForming</c> Warning event on the pod, as the kubelet's GetPodDNS does when it forms the pod's
/// sandbox.
/// </summary>
internal interface IResolvConfWriter
{
    /// <summary>The kubelet's DNSConfigForming messages for a pod with these settings; empty when nothing is cut.</summary>
    IReadOnlyList<string> DnsConfigWarnings(string? dnsPolicy, PodDnsConfig? dnsConfig);
}
