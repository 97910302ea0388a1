namespace Verge.Controllers;

/// <summary>
/// Settings of the node lifecycle controller, with defaults chosen for edge fleets rather than Kubernetes' data-centre
/// ones: nodes renew their Lease every second, and a node whose Lease has not been renewed for 4 s is marked
/// unreachable (Kubernetes: renew every 10 s, grace 40 s before 1.32 and 50 s since).
/// </summary>
public sealed class NodeLifecycleOptions
{
    /// <summary>How long a node's Lease may go unrenewed (on the controller's own clock) before the node is unreachable.</summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>How often every node is checked, besides the checks that Lease and Node events trigger.</summary>
    public TimeSpan MonitorPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The namespace of the nodes' Leases.</summary>
    public string LeaseNamespace { get; set; } = "kube-node-lease";

    /// <summary>Concurrent reconciles of nodes.</summary>
    public int Workers { get; set; } = 4;

    public void Validate()
    {
        if (GracePeriod <= TimeSpan.Zero || MonitorPeriod <= TimeSpan.Zero)
        {
            throw new ArgumentException("the node grace and monitor periods must be positive");
        }

        if (Workers < 1)
        {
            throw new ArgumentException("node lifecycle workers must be positive");
        }

        ArgumentException.ThrowIfNullOrEmpty(LeaseNamespace);
    }
}
