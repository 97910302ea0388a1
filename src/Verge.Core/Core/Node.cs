using System.ComponentModel;
using System.Text.Json.Serialization;
using Verge.Core.Meta;
using Verge.Core.Quantities;

namespace Verge.Core.Core;

/// <summary>core/v1 Node.</summary>
[Description("Node is a worker node. Each node will have a unique identifier in the cache (i.e. in etcd).")]
public sealed class Node : KubeObject
{
    [Description("Spec defines the behavior of a node.")]
    public NodeSpec Spec { get; set; } = new();

    [Description("Most recently observed status of the node. Populated by the system. Read-only.")]
    public NodeStatus? Status { get; set; }
}

/// <summary>core/v1 NodeSpec.</summary>
[Description("NodeSpec describes the attributes that a node is created with.")]
public sealed class NodeSpec
{
    [Description("PodCIDR represents the pod IP range assigned to the node.")]
    public string? PodCIDR { get; set; }

    [Description("podCIDRs represents the IP ranges assigned to the node for usage by Pods on that node.")]
    public List<string>? PodCIDRs { get; set; }

    [Description("ID of the node assigned by the cloud provider in the format: <ProviderName>://<ProviderSpecificNodeID>")]
    public string? ProviderID { get; set; }

    [Description("Unschedulable controls node schedulability of new pods. By default, node is schedulable.")]
    public bool? Unschedulable { get; set; }

    [Description("If specified, the node's taints.")]
    public List<Taint>? Taints { get; set; }
}

/// <summary>core/v1 Taint.</summary>
[Description("The node this Taint is attached to has the \"effect\" on any pod that does not tolerate the Taint.")]
public sealed class Taint
{
    [Description("Required. The taint key to be applied to a node.")]
    public string Key { get; set; } = "";

    [Description("The taint value corresponding to the taint key.")]
    public string? Value { get; set; }

    [Description("Required. The effect of the taint on pods that do not tolerate the taint. Valid effects are NoSchedule, PreferNoSchedule and NoExecute.")]
    public string Effect { get; set; } = "";

    [Description("TimeAdded represents the time at which the taint was added. It is only written for NoExecute taints.")]
    public DateTimeOffset? TimeAdded { get; set; }
}

/// <summary>core/v1 NodeStatus.</summary>
[Description("NodeStatus is information about the current status of a node.")]
public sealed class NodeStatus
{
    [Description("Capacity represents the total resources of a node.")]
    public Dictionary<string, Quantity>? Capacity { get; set; }

    [Description("Allocatable represents the resources of a node that are available for scheduling. Defaults to Capacity.")]
    public Dictionary<string, Quantity>? Allocatable { get; set; }

    [Description("NodePhase is the recently observed lifecycle phase of the node.")]
    public string? Phase { get; set; }

    [MergeKey("type")]
    [Description("Conditions is an array of current observed node conditions.")]
    public List<NodeCondition>? Conditions { get; set; }

    [MergeKey("type")]
    [Description("List of addresses reachable to the node.")]
    public List<NodeAddress>? Addresses { get; set; }

    [Description("Endpoints of daemons running on the Node.")]
    public NodeDaemonEndpoints? DaemonEndpoints { get; set; }

    [Description("Set of ids/uuids to uniquely identify the node.")]
    public NodeSystemInfo? NodeInfo { get; set; }

    [Description("List of container images on this node.")]
    public List<ContainerImage>? Images { get; set; }
}

/// <summary>core/v1 NodeCondition.</summary>
[Description("NodeCondition contains condition information for a node.")]
public sealed class NodeCondition
{
    [Description("Type of node condition: Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable.")]
    public string Type { get; set; } = "";

    [Description("Status of the condition, one of True, False, Unknown.")]
    public string Status { get; set; } = "";

    [Description("Last time we got an update on a given condition.")]
    public DateTimeOffset? LastHeartbeatTime { get; set; }

    [Description("Last time the condition transit from one status to another.")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [Description("(brief) reason for the condition's last transition.")]
    public string? Reason { get; set; }

    [Description("Human readable message indicating details about last transition.")]
    public string? Message { get; set; }
}

/// <summary>core/v1 NodeAddress.</summary>
[Description("NodeAddress contains information for the node's address.")]
public sealed class NodeAddress
{
    [Description("Node address type, one of Hostname, ExternalIP or InternalIP.")]
    public string Type { get; set; } = "";

    [Description("The node address.")]
    public string Address { get; set; } = "";
}

/// <summary>core/v1 NodeDaemonEndpoints.</summary>
[Description("NodeDaemonEndpoints lists ports opened by daemons running on the Node.")]
public sealed class NodeDaemonEndpoints
{
    [Description("Endpoint on which the node agent is listening.")]
    public DaemonEndpoint? KubeletEndpoint { get; set; }
}

/// <summary>core/v1 DaemonEndpoint.</summary>
[Description("DaemonEndpoint contains information about a single Daemon endpoint.")]
public sealed class DaemonEndpoint
{
    // Kubernetes spells this one field with a capital (`json:"Port"`), and clients send it so.
    [Description("Port number of the given endpoint.")]
    [JsonPropertyName("Port")]
    public int Port { get; set; }
}

/// <summary>core/v1 NodeSystemInfo.</summary>
[Description("NodeSystemInfo is a set of ids/uuids to uniquely identify the node.")]
public sealed class NodeSystemInfo
{
    [Description("MachineID reported by the node.")]
    public string MachineID { get; set; } = "";

    [Description("SystemUUID reported by the node.")]
    public string SystemUUID { get; set; } = "";

    [Description("Boot ID reported by the node.")]
    public string BootID { get; set; } = "";

    [Description("Kernel Version reported by the node from 'uname -r'.")]
    public string KernelVersion { get; set; } = "";

    [Description("OS Image reported by the node from /etc/os-release.")]
    public string OsImage { get; set; } = "";

    [Description("ContainerRuntime Version reported by the node through runtime remote API (e.g. runc://1.1.12).")]
    public string ContainerRuntimeVersion { get; set; } = "";

    [Description("Kubelet Version reported by the node.")]
    public string KubeletVersion { get; set; } = "";

    [Description("Deprecated: KubeProxy Version reported by the node.")]
    public string KubeProxyVersion { get; set; } = "";

    [Description("The Operating System reported by the node.")]
    public string OperatingSystem { get; set; } = "";

    [Description("The Architecture reported by the node.")]
    public string Architecture { get; set; } = "";
}

/// <summary>core/v1 ContainerImage.</summary>
[Description("Describe a container image.")]
public sealed class ContainerImage
{
    [Description("Names by which this image is known.")]
    public List<string>? Names { get; set; }

    [Description("The size of the image in bytes.")]
    public long? SizeBytes { get; set; }
}
