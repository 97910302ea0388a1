using System.ComponentModel;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Core.Policy;

/// <summary>policy/v1 PodDisruptionBudget.</summary>
[Description("PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods")]
public sealed class PodDisruptionBudget : KubeObject
{
    [Description("Specification of the desired behavior of the PodDisruptionBudget.")]
    public PodDisruptionBudgetSpec Spec { get; set; } = new();

    [Description("Most recently observed status of the PodDisruptionBudget.")]
    public PodDisruptionBudgetStatus? Status { get; set; }
}

/// <summary>policy/v1 PodDisruptionBudgetSpec.</summary>
[Description("PodDisruptionBudgetSpec is a description of a PodDisruptionBudget.")]
public sealed class PodDisruptionBudgetSpec
{
    [Description("An eviction is allowed if at least \"minAvailable\" pods selected by \"selector\" will still be available after the eviction, i.e. even in the absence of the evicted pod.  So for example you can prevent all voluntary evictions by specifying \"100%\".")]
    public IntOrString? MinAvailable { get; set; }

    [Description("Label query over pods whose evictions are managed by the disruption budget. A null selector will match no pods, while an empty ({}) selector will select all pods within the namespace.")]
    public LabelSelector? Selector { get; set; }

    [Description("An eviction is allowed if at most \"maxUnavailable\" pods selected by \"selector\" are unavailable after the eviction, i.e. even in absence of the evicted pod. For example, one can prevent all voluntary evictions by specifying 0. This is a mutually exclusive setting with \"minAvailable\".")]
    public IntOrString? MaxUnavailable { get; set; }

    [Description("UnhealthyPodEvictionPolicy defines the criteria for when unhealthy pods should be considered for eviction. Current implementation considers healthy pods, as pods that have status.conditions item with type=\"Ready\",status=\"True\". Valid policies are IfHealthyBudget and AlwaysAllow. If no policy is specified, the default behavior will be used, which corresponds to the IfHealthyBudget policy.")]
    public string? UnhealthyPodEvictionPolicy { get; set; }
}

/// <summary>policy/v1 PodDisruptionBudgetStatus.</summary>
[Description("PodDisruptionBudgetStatus represents information about the status of a PodDisruptionBudget. Status may trail the actual state of a system.")]
public sealed class PodDisruptionBudgetStatus
{
    [Description("Most recent generation observed when updating this PDB status. DisruptionsAllowed and other status information is valid only if observedGeneration equals to PDB's object generation.")]
    public long? ObservedGeneration { get; set; }

    [Description("DisruptedPods contains information about pods whose eviction was processed by the API server eviction subresource handler but has not yet been observed by the PodDisruptionBudget controller. A pod will be in this map from the time when the API server processed the eviction request to the time when the pod is seen by PDB controller as having been marked for deletion (or after a timeout). The key in the map is the name of the pod and the value is the time when the API server processed the eviction request. If the deletion didn't occur and a pod is still there it will be removed from the list automatically by PodDisruptionBudget controller after some time. If everything goes smooth this map should be empty for the most of the time. Large number of entries in the map may indicate problems with pod deletions.")]
    public Dictionary<string, DateTimeOffset>? DisruptedPods { get; set; }

    [Description("Number of pod disruptions that are currently allowed.")]
    public int DisruptionsAllowed { get; set; }

    [Description("current number of healthy pods")]
    public int CurrentHealthy { get; set; }

    [Description("minimum desired number of healthy pods")]
    public int DesiredHealthy { get; set; }

    [Description("total number of pods counted by this disruption budget")]
    public int ExpectedPods { get; set; }

    [MergeKey("type")]
    [Description("Conditions contain conditions for PDB. The disruption controller sets the DisruptionAllowed condition. The following are known values for the reason field (additional reasons could be added in the future): - SyncFailed: The controller encountered an error and wasn't able to compute the number of allowed disruptions. Therefore no disruptions are allowed and the status of the condition will be False. - InsufficientPods: The number of pods are either at or below the number required by the PodDisruptionBudget. No disruptions are allowed and the status of the condition will be False. - SufficientPods: There are more pods than required by the PodDisruptionBudget. The condition will be True, and the number of allowed disruptions are provided by the disruptionsAllowed property.")]
    public List<Condition>? Conditions { get; set; }
}
