using System.ComponentModel;
using Verge.Core.Meta;

namespace Verge.Core.Core;

/// <summary>core/v1 Pod.</summary>
[Description("Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.")]
public sealed class Pod : KubeObject
{
    [Description("Specification of the desired behavior of the pod.")]
    public PodSpec Spec { get; set; } = new();

    [Description("Most recently observed status of the pod. This data may not be up to date. Populated by the system. Read-only.")]
    public PodStatus? Status { get; set; }
}

/// <summary>core/v1 PodStatus.</summary>
[Description("PodStatus represents information about the status of a pod.")]
public sealed class PodStatus
{
    [Description("The phase of a Pod is a simple, high-level summary of where the Pod is in its lifecycle: Pending, Running, Succeeded, Failed or Unknown.")]
    public string? Phase { get; set; }

    [MergeKey("type")]
    [Description("Current service state of pod.")]
    public List<PodCondition>? Conditions { get; set; }

    [Description("A human readable message indicating details about why the pod is in this condition.")]
    public string? Message { get; set; }

    [Description("A brief CamelCase message indicating details about why the pod is in this state. e.g. 'Evicted'")]
    public string? Reason { get; set; }

    [Description("nominatedNodeName is set only when this pod preempts other pods on the node.")]
    public string? NominatedNodeName { get; set; }

    [Description("hostIP holds the IP address of the host to which the pod is assigned.")]
    public string? HostIP { get; set; }

    [MergeKey("ip")]
    [Description("hostIPs holds the IP addresses allocated to the host; hostIPs[0] is hostIP.")]
    public List<HostIP>? HostIPs { get; set; }

    [Description("podIP address allocated to the pod.")]
    public string? PodIP { get; set; }

    [MergeKey("ip")]
    [Description("podIPs holds the IP addresses allocated to the pod.")]
    public List<PodIP>? PodIPs { get; set; }

    [Description("RFC 3339 date and time at which the object was acknowledged by the Kubelet.")]
    public DateTimeOffset? StartTime { get; set; }

    [Description("Statuses of init containers in this pod.")]
    public List<ContainerStatus>? InitContainerStatuses { get; set; }

    [Description("Statuses of containers in this pod.")]
    public List<ContainerStatus>? ContainerStatuses { get; set; }

    [Description("The Quality of Service (QOS) classification assigned to the pod based on resource requirements: Guaranteed, Burstable or BestEffort.")]
    public string? QosClass { get; set; }
}

/// <summary>core/v1 PodCondition.</summary>
[Description("PodCondition contains details for the current condition of this pod.")]
public sealed class PodCondition
{
    [Description("Type is the type of the condition: PodScheduled, Initialized, ContainersReady, Ready.")]
    public string Type { get; set; } = "";

    [Description("Status is the status of the condition. Can be True, False, Unknown.")]
    public string Status { get; set; } = "";

    [Description("Last time we probed the condition.")]
    public DateTimeOffset? LastProbeTime { get; set; }

    [Description("Last time the condition transitioned from one status to another.")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [Description("Unique, one-word, CamelCase reason for the condition's last transition.")]
    public string? Reason { get; set; }

    [Description("Human-readable message indicating details about last transition.")]
    public string? Message { get; set; }
}

/// <summary>core/v1 PodIP.</summary>
[Description("PodIP represents a single IP address allocated to the pod.")]
public sealed class PodIP
{
    [Description("IP is the IP address assigned to the pod.")]
    public string Ip { get; set; } = "";
}

/// <summary>core/v1 HostIP.</summary>
[Description("HostIP represents a single IP address allocated to the host.")]
public sealed class HostIP
{
    [Description("IP is the IP address assigned to the host.")]
    public string Ip { get; set; } = "";
}

/// <summary>core/v1 ContainerStatus.</summary>
[Description("ContainerStatus contains details for the current status of this container.")]
public sealed class ContainerStatus
{
    [Description("Name is a DNS_LABEL representing the unique name of the container.")]
    public string Name { get; set; } = "";

    [Description("State holds details about the container's current condition.")]
    public ContainerState? State { get; set; }

    [Description("LastTerminationState holds the last termination state of the container.")]
    public ContainerState? LastState { get; set; }

    [Description("Ready specifies whether the container is currently passing its readiness check.")]
    public bool Ready { get; set; }

    [Description("RestartCount holds the number of times the container has been restarted.")]
    public int RestartCount { get; set; }

    [Description("Image is the name of container image that the container is running.")]
    public string Image { get; set; } = "";

    [Description("ImageID is the image ID of the container's image.")]
    public string ImageID { get; set; } = "";

    [Description("ContainerID is the ID of the container in the format '<type>://<container_id>'.")]
    public string? ContainerID { get; set; }

    [Description("Started indicates whether the container has finished its postStart lifecycle hook and passed its startup probe.")]
    public bool? Started { get; set; }
}

/// <summary>core/v1 ContainerState: exactly one of waiting, running, terminated.</summary>
[Description("ContainerState holds a possible state of container. Only one of its members may be specified.")]
public sealed class ContainerState
{
    [Description("Details about a waiting container.")]
    public ContainerStateWaiting? Waiting { get; set; }

    [Description("Details about a running container.")]
    public ContainerStateRunning? Running { get; set; }

    [Description("Details about a terminated container.")]
    public ContainerStateTerminated? Terminated { get; set; }
}

/// <summary>core/v1 ContainerStateWaiting.</summary>
[Description("ContainerStateWaiting is a waiting state of a container.")]
public sealed class ContainerStateWaiting
{
    [Description("(brief) reason the container is not yet running, such as ContainerCreating or CrashLoopBackOff.")]
    public string? Reason { get; set; }

    [Description("Message regarding why the container is not yet running.")]
    public string? Message { get; set; }
}

/// <summary>core/v1 ContainerStateRunning.</summary>
[Description("ContainerStateRunning is a running state of a container.")]
public sealed class ContainerStateRunning
{
    [Description("Time at which the container was last (re-)started.")]
    public DateTimeOffset? StartedAt { get; set; }
}

/// <summary>core/v1 ContainerStateTerminated.</summary>
[Description("ContainerStateTerminated is a terminated state of a container.")]
public sealed class ContainerStateTerminated
{
    [Description("Exit status from the last termination of the container.")]
    public int ExitCode { get; set; }

    [Description("Signal from the last termination of the container.")]
    public int? Signal { get; set; }

    [Description("(brief) reason from the last termination of the container.")]
    public string? Reason { get; set; }

    [Description("Message regarding the last termination of the container.")]
    public string? Message { get; set; }

    [Description("Time at which previous execution of the container started.")]
    public DateTimeOffset? StartedAt { get; set; }

    [Description("Time at which the container last terminated.")]
    public DateTimeOffset? FinishedAt { get; set; }

    [Description("Container's ID in the format '<type>://<container_id>'.")]
    public string? ContainerID { get; set; }
}
