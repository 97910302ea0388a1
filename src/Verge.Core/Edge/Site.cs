using System.ComponentModel;
using Verge.Core.Meta;

namespace Verge.Core.Edge;

/// <summary>edge.verge.dev/v1 Site: a place where a group of edge nodes runs (a plant, a store, a vehicle).</summary>
[Description("Site is a location grouping edge nodes that can fail workloads over among themselves while the control plane is unreachable.")]
public sealed class Site : KubeObject
{
    [Description("Spec describes the site.")]
    public SiteSpec Spec { get; set; } = new();

    [Description("Status is the most recently observed state of the site's nodes.")]
    public SiteStatus? Status { get; set; }
}

/// <summary>The desired state of a <see cref="Site"/>.</summary>
[Description("SiteSpec describes a site.")]
public sealed class SiteSpec
{
    [Description("A human readable description of the site.")]
    public string? Description { get; set; }

    [Description("Where the site is.")]
    public SiteLocation? Location { get; set; }

    [Description("How the nodes of this site fail workloads over among themselves.")]
    public SiteFailover? Failover { get; set; }
}

/// <summary>Where a <see cref="Site"/> is.</summary>
[Description("SiteLocation places a site geographically.")]
public sealed class SiteLocation
{
    [Description("Region of the site, such as eu-west.")]
    public string? Region { get; set; }

    [Description("Zone of the site within its region.")]
    public string? Zone { get; set; }

    [Description("Latitude in decimal degrees, from -90 to 90.")]
    public double? Latitude { get; set; }

    [Description("Longitude in decimal degrees, from -180 to 180.")]
    public double? Longitude { get; set; }
}

/// <summary>Site-local failover settings.</summary>
[Description("SiteFailover controls site-local failover of workloads between the site's nodes.")]
public sealed class SiteFailover
{
    [Description("Whether the site's nodes fail workloads over among themselves when a node is dead. Defaults to false.")]
    public bool? Enabled { get; set; }

    [Description("How many seconds a node may be silent to its site peers before they consider it dead. Defaults to 40.")]
    public int? NodeTimeoutSeconds { get; set; }
}

/// <summary>The observed state of a <see cref="Site"/>.</summary>
[Description("SiteStatus is the most recently observed state of a site.")]
public sealed class SiteStatus
{
    [Description("Number of nodes in the site.")]
    public int? Nodes { get; set; }

    [Description("Number of nodes in the site that are Ready.")]
    public int? ReadyNodes { get; set; }

    [Description("The generation observed by the site controller.")]
    public long? ObservedGeneration { get; set; }

    [MergeKey("type")]
    [Description("Latest observations of the site's state.")]
    public List<Condition>? Conditions { get; set; }
}
