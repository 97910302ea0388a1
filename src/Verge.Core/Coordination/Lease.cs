using System.ComponentModel;
using System.Text.Json.Serialization;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.Core.Coordination;

/// <summary>coordination.k8s.io/v1 Lease.</summary>
[Description("Lease defines a lease concept.")]
public sealed class Lease : KubeObject
{
    /// <summary>The namespace of the Leases nodes renew as their heartbeat (one per node, named after it).</summary>
    public const string NodeLeaseNamespace = "kube-node-lease";

    [Description("spec contains the specification of the Lease.")]
    public LeaseSpec Spec { get; set; } = new();
}

/// <summary>coordination.k8s.io/v1 LeaseSpec.</summary>
[Description("LeaseSpec is a specification of a Lease.")]
public sealed class LeaseSpec
{
    [Description("holderIdentity contains the identity of the holder of a current lease.")]
    public string? HolderIdentity { get; set; }

    [Description("leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it. This is measured against the time of last observed renewTime.")]
    public int? LeaseDurationSeconds { get; set; }

    [JsonConverter(typeof(MicroTimeJsonConverter))]
    [Description("acquireTime is a time when the current lease was acquired.")]
    public DateTimeOffset? AcquireTime { get; set; }

    [JsonConverter(typeof(MicroTimeJsonConverter))]
    [Description("renewTime is a time when the current holder of a lease has last updated the lease.")]
    public DateTimeOffset? RenewTime { get; set; }

    [Description("leaseTransitions is the number of transitions of a lease between holders.")]
    public int? LeaseTransitions { get; set; }
}
