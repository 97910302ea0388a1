using System.ComponentModel;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Core.Apps;

/// <summary>apps/v1 ReplicaSet.</summary>
[Description("ReplicaSet ensures that a specified number of pod replicas are running at any given time.")]
public sealed class ReplicaSet : KubeObject
{
    [Description("Spec defines the specification of the desired behavior of the ReplicaSet.")]
    public ReplicaSetSpec Spec { get; set; } = new();

    [Description("Status is the most recently observed status of the ReplicaSet.")]
    public ReplicaSetStatus? Status { get; set; }
}

/// <summary>apps/v1 ReplicaSetSpec.</summary>
[Description("ReplicaSetSpec is the specification of a ReplicaSet.")]
public sealed class ReplicaSetSpec
{
    [Description("Replicas is the number of desired pods. Defaults to 1.")]
    public int? Replicas { get; set; }

    [Description("Minimum number of seconds for which a newly created pod should be ready without any of its container crashing, for it to be considered available. Defaults to 0.")]
    public int? MinReadySeconds { get; set; }

    [Description("Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels.")]
    public LabelSelector? Selector { get; set; }

    [Description("Template is the object that describes the pod that will be created if insufficient replicas are detected.")]
    public PodTemplateSpec Template { get; set; } = new();
}

/// <summary>apps/v1 ReplicaSetStatus.</summary>
[Description("ReplicaSetStatus represents the current status of a ReplicaSet.")]
public sealed class ReplicaSetStatus
{
    [Description("Replicas is the most recently observed number of non-terminating pods.")]
    public int Replicas { get; set; }

    [Description("The number of non-terminating pods that have labels matching the labels of the pod template of the replicaset.")]
    public int? FullyLabeledReplicas { get; set; }

    [Description("The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.")]
    public int? ReadyReplicas { get; set; }

    [Description("The number of available non-terminating pods (ready for at least minReadySeconds) for this replica set.")]
    public int? AvailableReplicas { get; set; }

    [Description("ObservedGeneration reflects the generation of the most recently observed ReplicaSet.")]
    public long? ObservedGeneration { get; set; }

    [MergeKey("type")]
    [Description("Represents the latest available observations of a replica set's current state.")]
    public List<ReplicaSetCondition>? Conditions { get; set; }
}

/// <summary>apps/v1 ReplicaSetCondition.</summary>
[Description("ReplicaSetCondition describes the state of a replica set at a certain point.")]
public sealed class ReplicaSetCondition
{
    [Description("Type of replica set condition.")]
    public string Type { get; set; } = "";

    [Description("Status of the condition, one of True, False, Unknown.")]
    public string Status { get; set; } = "";

    [Description("The last time the condition transitioned from one status to another.")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [Description("The reason for the condition's last transition.")]
    public string? Reason { get; set; }

    [Description("A human readable message indicating details about the transition.")]
    public string? Message { get; set; }
}
