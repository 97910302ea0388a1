namespace Verge.Scheduler;

/// <summary>The label, annotation, taint and resource names the scheduler reads.</summary>
public static class Conventions
{
    /// <summary>Node label naming the site a node belongs to; also a topology key for spread constraints.</summary>
    public const string SiteLabel = "verge.dev/site";

    /// <summary>Kubernetes' well-known zone label.</summary>
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    /// <summary>Pod annotation naming the site the pod serves (locality score).</summary>
    public const string SiteAnnotation = "verge.dev/site";

    /// <summary>
    /// Pod annotation listing the devices the pod serves, and node annotation listing the devices a node reaches:
    /// comma-separated device names, e.g. <c>cam-1,plc-7</c>.
    /// </summary>
    public const string DevicesAnnotation = "verge.dev/devices";

    /// <summary>
    /// Node annotation listing the runtime classes the node's agent can run, comma-separated (e.g. <c>runc,process</c>);
    /// a pod with <c>spec.runtimeClassName</c> fits only nodes that list it.
    /// </summary>
    public const string RuntimeClassesAnnotation = "verge.dev/runtime-classes";

    /// <summary>Taint added to nodes whose Ready condition is False (or missing).</summary>
    public const string NotReadyTaint = "node.kubernetes.io/not-ready";

    /// <summary>Taint added to nodes whose Ready condition is Unknown (the node stopped reporting).</summary>
    public const string UnreachableTaint = "node.kubernetes.io/unreachable";

    /// <summary>Taint that stands for <c>spec.unschedulable</c>; a pod tolerating it may land on a cordoned node.</summary>
    public const string UnschedulableTaint = "node.kubernetes.io/unschedulable";

    /// <summary>Pods a node accepts when its allocatable does not say (the kubelet's default).</summary>
    public const long DefaultMaxPods = 110;

    /// <summary>Priority of <c>system-cluster-critical</c> when <c>spec.priority</c> is not resolved.</summary>
    public const int SystemClusterCritical = 2_000_000_000;

    /// <summary>Priority of <c>system-node-critical</c> when <c>spec.priority</c> is not resolved.</summary>
    public const int SystemNodeCritical = 2_000_001_000;
}
