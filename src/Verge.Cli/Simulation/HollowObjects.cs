using System.Text.Json.Nodes;
using Verge.Core.Serialization;

namespace Verge.Cli.Simulation;

/// <summary>The JSON the hollow nodes write: their Node objects and status, their Leases, and the status of their pods.</summary>
internal static class HollowObjects
{
    public const string KubeletVersion = "v1.32.0-verge-hollow";
    public const string ContainerRuntimeVersion = "hollow://1";
    public const string ImageId = "hollow://image";
    public const string HollowLabel = "verge.dev/hollow";
    public const string SiteLabel = "verge.dev/site";
    public const string LeaseNamespace = Verge.Core.Coordination.Lease.NodeLeaseNamespace;

    public static JsonObject Labels(HollowNode node) => new()
    {
        [SiteLabel] = node.SiteLabel,
        ["topology.kubernetes.io/zone"] = node.SiteLabel,
        ["kubernetes.io/hostname"] = node.Name,
        ["kubernetes.io/os"] = "linux",
        ["kubernetes.io/arch"] = "amd64",
        [HollowLabel] = "true",
    };

    public static JsonObject Node(HollowNode node) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Node",
        ["metadata"] = new JsonObject { ["name"] = node.Name, ["labels"] = Labels(node) },
        ["spec"] = new JsonObject(),
    };

    /// <summary>A merge patch that takes over a node that already exists: its labels become the simulator's.</summary>
    public static JsonObject TakeOver(HollowNode node) => new()
    {
        ["metadata"] = new JsonObject { ["labels"] = Labels(node) },
    };

    /// <summary>The node's whole status, as a merge patch of the /status subresource.</summary>
    public static JsonObject NodeStatus(HollowNode node, HollowNodeOptions options, DateTimeOffset since, DateTimeOffset now) => new()
    {
        ["status"] = new JsonObject
        {
            ["capacity"] = Resources(options),
            ["allocatable"] = Resources(options),
            ["conditions"] = Conditions(since, now),
            ["addresses"] = new JsonArray(
                new JsonObject { ["type"] = "InternalIP", ["address"] = node.InternalIp },
                new JsonObject { ["type"] = "Hostname", ["address"] = node.Name }),
            ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = new JsonObject { ["Port"] = 10250 } },
            ["nodeInfo"] = new JsonObject
            {
                ["machineID"] = node.Name,
                ["systemUUID"] = node.Name,
                ["bootID"] = node.Name,
                ["kernelVersion"] = "hollow",
                ["osImage"] = "Verge hollow node",
                ["containerRuntimeVersion"] = ContainerRuntimeVersion,
                ["kubeletVersion"] = KubeletVersion,
                ["kubeProxyVersion"] = KubeletVersion,
                ["operatingSystem"] = "linux",
                ["architecture"] = "amd64",
            },
        },
    };

    /// <summary>The heartbeat: the conditions again with a new lastHeartbeatTime (a merge patch replaces the list whole).</summary>
    public static JsonObject Heartbeat(DateTimeOffset since, DateTimeOffset now) => new()
    {
        ["status"] = new JsonObject { ["conditions"] = Conditions(since, now) },
    };

    public static JsonObject Lease(HollowNode node, HollowNodeOptions options, DateTimeOffset now)
    {
        var metadata = new JsonObject { ["name"] = node.Name, ["namespace"] = LeaseNamespace };
        if (node.Uid is { } uid)
        {
            metadata["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Node",
                ["name"] = node.Name,
                ["uid"] = uid,
            });
        }

        return new JsonObject
        {
            ["apiVersion"] = "coordination.k8s.io/v1",
            ["kind"] = "Lease",
            ["metadata"] = metadata,
            ["spec"] = LeaseSpec(node, options, now),
        };
    }

    /// <summary>A merge patch that renews a Lease.</summary>
    public static JsonObject Renewal(HollowNode node, HollowNodeOptions options, DateTimeOffset now) => new()
    {
        ["spec"] = LeaseSpec(node, options, now),
    };

    /// <summary>
    /// Whether the pod already shows what a hollow node reports: Running, with an IP, and Ready, unless one of its
    /// readiness gates' conditions is not True (then not Ready, as a kubelet reports it).
    /// </summary>
    public static bool IsRunning(JsonNode pod)
    {
        var status = pod["status"];
        if (status?["phase"]?.GetValue<string>() != "Running" || string.IsNullOrEmpty(status["podIP"]?.GetValue<string>()))
        {
            return false;
        }

        var ready = GatesMet(pod) ? "True" : "False";
        return status["conditions"] is JsonArray conditions && conditions.Any(c =>
            c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == ready);
    }

    /// <summary>Whether the condition each readiness gate of the pod names is True (so with no gates).</summary>
    private static bool GatesMet(JsonNode pod) =>
        (pod["spec"]?["readinessGates"] as JsonArray ?? []).All(gate => ConditionsOf(pod).Any(c =>
            c?["type"]?.GetValue<string>() == gate?["conditionType"]?.GetValue<string>() && c?["status"]?.GetValue<string>() == "True"));

    private static JsonArray ConditionsOf(JsonNode pod) => pod["status"]?["conditions"] as JsonArray ?? [];

    /// <summary>Whether the node lifecycle controller marked the pod not Ready because its node was not (reason NodeNotReady).</summary>
    public static bool IsMarkedNotReady(JsonNode pod) =>
        pod["status"]?["phase"]?.GetValue<string>() == "Running"
        && pod["status"]?["conditions"] is JsonArray conditions
        && conditions.Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "False"
            && c["reason"]?.GetValue<string>() == "NodeNotReady");

    /// <summary>The status that marks a pod Running on <paramref name="node"/>, as a merge patch of the /status subresource.</summary>
    public static JsonObject RunningPodStatus(JsonNode pod, HollowNode node, string podIp, DateTimeOffset now)
    {
        var time = RfcTime.FormatSeconds(now);
        var uid = pod["metadata"]?["uid"]?.GetValue<string>() ?? "";
        var spec = pod["spec"];
        var conditions = new JsonArray();
        string[] own = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
        var gatesMet = GatesMet(pod);
        foreach (var type in own)
        {
            var condition = new JsonObject { ["type"] = type, ["status"] = "True", ["lastTransitionTime"] = time };
            if (type == "Ready" && !gatesMet)
            {
                condition["status"] = "False";
                condition["reason"] = "ReadinessGatesNotReady";
            }

            conditions.Add(condition);
        }

        // A merge patch replaces the list: the conditions others set (readiness gates, DisruptionTarget) go back in.
        foreach (var other in ConditionsOf(pod).Where(c => !own.Contains(c?["type"]?.GetValue<string>())))
        {
            conditions.Add(other!.DeepClone());
        }

        var containers = new JsonArray();
        foreach (var container in spec?["containers"] as JsonArray ?? [])
        {
            var name = container?["name"]?.GetValue<string>() ?? "";
            containers.Add(new JsonObject
            {
                ["name"] = name,
                ["ready"] = true,
                ["started"] = true,
                ["restartCount"] = 0,
                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = time } },
                ["image"] = container?["image"]?.GetValue<string>() ?? "",
                ["imageID"] = ImageId,
                ["containerID"] = ContainerId(uid, name),
            });
        }

        var status = new JsonObject
        {
            ["phase"] = "Running",
            ["conditions"] = conditions,
            ["hostIP"] = node.InternalIp,
            ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = node.InternalIp }),
            ["podIP"] = podIp,
            ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp }),
            ["startTime"] = time,
            ["containerStatuses"] = containers,
        };

        if (spec?["initContainers"] is JsonArray { Count: > 0 } inits)
        {
            var initStatuses = new JsonArray();
            foreach (var container in inits)
            {
                var name = container?["name"]?.GetValue<string>() ?? "";
                var sidecar = container?["restartPolicy"]?.GetValue<string>() == "Always";
                initStatuses.Add(new JsonObject
                {
                    ["name"] = name,
                    ["ready"] = true,
                    ["started"] = sidecar,
                    ["restartCount"] = 0,
                    ["state"] = sidecar
                        ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = time } }
                        : new JsonObject
                        {
                            ["terminated"] = new JsonObject
                            {
                                ["exitCode"] = 0,
                                ["reason"] = "Completed",
                                ["startedAt"] = time,
                                ["finishedAt"] = time,
                                ["containerID"] = ContainerId(uid, name),
                            },
                        },
                    ["image"] = container?["image"]?.GetValue<string>() ?? "",
                    ["imageID"] = ImageId,
                    ["containerID"] = ContainerId(uid, name),
                });
            }

            status["initContainerStatuses"] = initStatuses;
        }

        return new JsonObject { ["status"] = status };
    }

    /// <summary>DeleteOptions that confirm a pod's termination: no further grace, and only this pod (its uid).</summary>
    public static JsonObject ConfirmDeletion(string uid) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "DeleteOptions",
        ["gracePeriodSeconds"] = 0,
        ["preconditions"] = new JsonObject { ["uid"] = uid },
    };

    private static string ContainerId(string podUid, string container) => $"hollow://{podUid}/{container}";

    private static JsonObject Resources(HollowNodeOptions options) => new()
    {
        ["cpu"] = options.Cpu,
        ["memory"] = options.Memory,
        ["ephemeral-storage"] = options.EphemeralStorage,
        ["pods"] = options.Pods.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static JsonArray Conditions(DateTimeOffset since, DateTimeOffset now)
    {
        var heartbeat = RfcTime.FormatSeconds(now);
        var transition = RfcTime.FormatSeconds(since);
        JsonObject Condition(string type, string status, string reason, string message) => new()
        {
            ["type"] = type,
            ["status"] = status,
            ["lastHeartbeatTime"] = heartbeat,
            ["lastTransitionTime"] = transition,
            ["reason"] = reason,
            ["message"] = message,
        };

        return
        [
            Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ];
    }

    private static JsonObject LeaseSpec(HollowNode node, HollowNodeOptions options, DateTimeOffset now) => new()
    {
        ["holderIdentity"] = node.Name,
        ["leaseDurationSeconds"] = options.Leases.LeaseDurationSeconds,
        ["renewTime"] = RfcTime.FormatMicros(now),
    };
}
