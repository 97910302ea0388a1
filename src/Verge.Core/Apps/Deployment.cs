using System.ComponentModel;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Core.Apps;

/// <summary>apps/v1 Deployment.</summary>
[Description("Deployment enables declarative updates for Pods and ReplicaSets.")]
public sealed class Deployment : KubeObject
{
    [Description("Specification of the desired behavior of the Deployment.")]
    public DeploymentSpec Spec { get; set; } = new();

    [Description("Most recently observed status of the Deployment.")]
    public DeploymentStatus? Status { get; set; }
}

/// <summary>apps/v1 DeploymentSpec.</summary>
[Description("DeploymentSpec is the specification of the desired behavior of the Deployment.")]
public sealed class DeploymentSpec
{
    [Description("Number of desired pods. This is a pointer to distinguish between explicit zero and not specified. Defaults to 1.")]
    public int? Replicas { get; set; }

    [Description("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.")]
    public LabelSelector? Selector { get; set; }

    [Description("Template describes the pods that will be created. The only allowed template.spec.restartPolicy value is \"Always\".")]
    public PodTemplateSpec Template { get; set; } = new();

    [Description("The deployment strategy to use to replace existing pods with new ones.")]
    [RetainKeys]
    public DeploymentStrategy? Strategy { get; set; }

    [Description("Minimum number of seconds for which a newly created pod should be ready without any of its container crashing, for it to be considered available. Defaults to 0.")]
    public int? MinReadySeconds { get; set; }

    [Description("The number of old ReplicaSets to retain to allow rollback. Defaults to 10.")]
    public int? RevisionHistoryLimit { get; set; }

    [Description("Indicates that the deployment is paused.")]
    public bool? Paused { get; set; }

    [Description("The maximum time in seconds for a deployment to make progress before it is considered to be failed. Defaults to 600s.")]
    public int? ProgressDeadlineSeconds { get; set; }
}

/// <summary>apps/v1 DeploymentStrategy.</summary>
[Description("DeploymentStrategy describes how to replace existing pods with new ones.")]
public sealed class DeploymentStrategy
{
    [Description("Type of deployment. Can be \"Recreate\" or \"RollingUpdate\". Default is RollingUpdate.")]
    public string? Type { get; set; }

    [Description("Rolling update config params. Present only if DeploymentStrategyType = RollingUpdate.")]
    public RollingUpdateDeployment? RollingUpdate { get; set; }
}

/// <summary>apps/v1 RollingUpdateDeployment.</summary>
[Description("Spec to control the desired behavior of rolling update.")]
public sealed class RollingUpdateDeployment
{
    [Description("The maximum number of pods that can be unavailable during the update. Value can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). Defaults to 25%.")]
    public IntOrString? MaxUnavailable { get; set; }

    [Description("The maximum number of pods that can be scheduled above the desired number of pods. Value can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). Defaults to 25%.")]
    public IntOrString? MaxSurge { get; set; }
}

/// <summary>apps/v1 DeploymentStatus.</summary>
[Description("DeploymentStatus is the most recently observed status of the Deployment.")]
public sealed class DeploymentStatus
{
    [Description("The generation observed by the deployment controller.")]
    public long? ObservedGeneration { get; set; }

    [Description("Total number of non-terminated pods targeted by this deployment (their labels match the selector).")]
    public int? Replicas { get; set; }

    [Description("Total number of non-terminated pods targeted by this deployment that have the desired template spec.")]
    public int? UpdatedReplicas { get; set; }

    [Description("Total number of pods targeted by this Deployment with a Ready Condition.")]
    public int? ReadyReplicas { get; set; }

    [Description("Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.")]
    public int? AvailableReplicas { get; set; }

    [Description("Total number of unavailable pods targeted by this deployment.")]
    public int? UnavailableReplicas { get; set; }

    [MergeKey("type")]
    [Description("Represents the latest available observations of a deployment's current state.")]
    public List<DeploymentCondition>? Conditions { get; set; }

    [Description("Count of hash collisions for the Deployment. The Deployment controller uses this field as a collision avoidance mechanism when it needs to create the name for the newest ReplicaSet.")]
    public int? CollisionCount { get; set; }
}

/// <summary>apps/v1 DeploymentCondition.</summary>
[Description("DeploymentCondition describes the state of a deployment at a certain point.")]
public sealed class DeploymentCondition
{
    [Description("Type of deployment condition: Available, Progressing, ReplicaFailure.")]
    public string Type { get; set; } = "";

    [Description("Status of the condition, one of True, False, Unknown.")]
    public string Status { get; set; } = "";

    [Description("The last time this condition was updated.")]
    public DateTimeOffset? LastUpdateTime { get; set; }

    [Description("Last time the condition transitioned from one status to another.")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [Description("The reason for the condition's last transition.")]
    public string? Reason { get; set; }

    [Description("A human readable message indicating details about the transition.")]
    public string? Message { get; set; }
}
