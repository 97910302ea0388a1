using System.ComponentModel;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Core.Apps;

/// <summary>apps/v1 DaemonSet.</summary>
[Description("DaemonSet represents the configuration of a daemon set.")]
public sealed class DaemonSet : KubeObject
{
    [Description("The desired behavior of this daemon set.")]
    public DaemonSetSpec Spec { get; set; } = new();

    [Description("The current status of this daemon set.")]
    public DaemonSetStatus? Status { get; set; }
}

/// <summary>apps/v1 DaemonSetSpec.</summary>
[Description("DaemonSetSpec is the specification of a daemon set.")]
public sealed class DaemonSetSpec
{
    [Description("A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels.")]
    public LabelSelector? Selector { get; set; }

    [Description("An object that describes the pod that will be created. The DaemonSet will create exactly one copy of this pod on every node that matches the template's node selector.")]
    public PodTemplateSpec Template { get; set; } = new();

    [Description("An update strategy to replace existing DaemonSet pods with new pods.")]
    public DaemonSetUpdateStrategy? UpdateStrategy { get; set; }

    [Description("The minimum number of seconds for which a newly created DaemonSet pod should be ready without any of its container crashing, for it to be considered available. Defaults to 0.")]
    public int? MinReadySeconds { get; set; }

    [Description("The number of old history to retain to allow rollback. Defaults to 10.")]
    public int? RevisionHistoryLimit { get; set; }
}

/// <summary>apps/v1 DaemonSetUpdateStrategy.</summary>
[Description("DaemonSetUpdateStrategy is a struct used to control the update strategy for a DaemonSet.")]
public sealed class DaemonSetUpdateStrategy
{
    [Description("Type of daemon set update. Can be \"RollingUpdate\" or \"OnDelete\". Default is RollingUpdate.")]
    public string? Type { get; set; }

    [Description("Rolling update config params. Present only if type = \"RollingUpdate\".")]
    public RollingUpdateDaemonSet? RollingUpdate { get; set; }
}

/// <summary>apps/v1 RollingUpdateDaemonSet.</summary>
[Description("Spec to control the desired behavior of daemon set rolling update.")]
public sealed class RollingUpdateDaemonSet
{
    [Description("The maximum number of DaemonSet pods that can be unavailable during the update. Value can be an absolute number (ex: 5) or a percentage of total number of DaemonSet pods at the start of the update (ex: 10%). Defaults to 1.")]
    public IntOrString? MaxUnavailable { get; set; }

    [Description("The maximum number of nodes with an existing available DaemonSet pod that can have an updated DaemonSet pod during an update. Defaults to 0.")]
    public IntOrString? MaxSurge { get; set; }
}

/// <summary>apps/v1 DaemonSetStatus.</summary>
[Description("DaemonSetStatus represents the current status of a daemon set.")]
public sealed class DaemonSetStatus
{
    [Description("The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.")]
    public int CurrentNumberScheduled { get; set; }

    [Description("The number of nodes that are running the daemon pod, but are not supposed to run the daemon pod.")]
    public int NumberMisscheduled { get; set; }

    [Description("The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).")]
    public int DesiredNumberScheduled { get; set; }

    [Description("The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.")]
    public int NumberReady { get; set; }

    [Description("The most recent generation observed by the daemon set controller.")]
    public long? ObservedGeneration { get; set; }

    [Description("The total number of nodes that are running updated daemon pod.")]
    public int? UpdatedNumberScheduled { get; set; }

    [Description("The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds).")]
    public int? NumberAvailable { get; set; }

    [Description("The number of nodes that should be running the daemon pod and have none of the daemon pod running and available.")]
    public int? NumberUnavailable { get; set; }

    [Description("Count of hash collisions for the DaemonSet.")]
    public int? CollisionCount { get; set; }

    [MergeKey("type")]
    [Description("Represents the latest available observations of a DaemonSet's current state.")]
    public List<DaemonSetCondition>? Conditions { get; set; }
}

/// <summary>apps/v1 DaemonSetCondition.</summary>
[Description("DaemonSetCondition describes the state of a DaemonSet at a certain point.")]
public sealed class DaemonSetCondition
{
    [Description("Type of DaemonSet condition.")]
    public string Type { get; set; } = "";

    [Description("Status of the condition, one of True, False, Unknown.")]
    public string Status { get; set; } = "";

    [Description("Last time the condition transitioned from one status to another.")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [Description("The reason for the condition's last transition.")]
    public string? Reason { get; set; }

    [Description("A human readable message indicating details about the transition.")]
    public string? Message { get; set; }
}
