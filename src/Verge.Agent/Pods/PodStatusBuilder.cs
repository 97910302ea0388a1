using Verge.Agent.State;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>The pod-level facts a status needs besides the containers.</summary>
internal sealed record PodStatusFacts(
    string? PodIp,
    string? HostIp,
    DateTimeOffset StartTime,
    DateTimeOffset Now,
    string? PendingReason,
    string? PendingMessage);

/// <summary>
/// Builds the pod status kubelet would report from the worker's containers and the plan's back-off waits: phase,
/// conditions with transition times carried over from the previous status, container statuses with waiting,
/// running and terminated states and lastState, pod IPs, start time and QoS class. Pure.
/// </summary>
internal static class PodStatusBuilder
{
    public static PodStatus Build(
        Pod pod,
        IReadOnlyList<ContainerSlot> initSlots,
        IReadOnlyList<ContainerSlot> appSlots,
        PodPlan? plan,
        string phase,
        PodStatusFacts facts,
        PodStatus? previous)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(facts);
        var waits = (plan?.Waits ?? []).ToDictionary(w => w.Container, StringComparer.Ordinal);

        // As the kubelet: a sidecar counts as initialized once it has started, and a pod one of whose app containers
        // has started stays initialized while its sidecars restart.
        var appStarted = appSlots.Any(s => s.Phase != ContainerPhase.NotStarted || s.Handle is not null);
        var incomplete = appStarted
            ? []
            : initSlots.Where(s => !(s.Phase == ContainerPhase.Exited && s.Exit?.ExitCode == 0) && !(s.Sidecar && s.Started && s.Phase == ContainerPhase.Running))
                .Select(s => s.Name).ToList();
        var initDone = incomplete.Count == 0;
        var firstPendingInit = incomplete.Count == 0 ? null : initSlots.First(s => s.Name == incomplete[0]);

        var initStatuses = initSlots.Select(s => ContainerStatusOf(s, waits, facts, initDone || s == firstPendingInit || !incomplete.Contains(s.Name) ? null : "PodInitializing")).ToList();
        var appStatuses = appSlots.Select(s => ContainerStatusOf(s, waits, facts, initDone ? null : "PodInitializing")).ToList();

        var terminal = phase is "Succeeded" or "Failed";

        // Sidecars first, then the app containers, as the kubelet lists the unready ones.
        var unready = initSlots.Where(s => s.Sidecar).Concat(appSlots)
            .Where(s => !(s.Ready && s.Phase == ContainerPhase.Running)).Select(s => s.Name).ToList();

        var containersReady = Condition(
            "ContainersReady",
            unready.Count == 0 && !terminal,
            terminal ? "PodCompleted" : unready.Count == 0 ? null : "ContainersNotReady",
            terminal || unready.Count == 0 ? null : $"containers with unready status: [{string.Join(' ', unready)}]");
        var conditions = new List<PodCondition>
        {
            Condition("PodScheduled", true, null, null),
            Condition(
                "Initialized",
                incomplete.Count == 0,
                incomplete.Count == 0 ? null : "ContainersNotInitialized",
                incomplete.Count == 0 ? null : $"containers with incomplete status: [{string.Join(' ', incomplete)}]"),
            containersReady,
            ReadyCondition(pod, containersReady),
        };
        foreach (var condition in conditions)
        {
            var before = previous?.Conditions?.FirstOrDefault(c => c.Type == condition.Type);
            condition.LastTransitionTime = before is not null && before.Status == condition.Status && before.LastTransitionTime is not null
                ? before.LastTransitionTime
                : facts.Now;
        }

        return new PodStatus
        {
            Phase = phase,
            Conditions = conditions,
            HostIP = facts.HostIp,
            HostIPs = facts.HostIp is null ? null : [new HostIP { Ip = facts.HostIp }],
            PodIP = facts.PodIp,
            PodIPs = facts.PodIp is null ? null : [new PodIP { Ip = facts.PodIp }],
            StartTime = facts.StartTime,
            InitContainerStatuses = initStatuses.Count == 0 ? null : initStatuses,
            ContainerStatuses = appStatuses,
            QosClass = QosClass(pod),
        };
    }

    /// <summary>Guaranteed, Burstable or BestEffort, as Kubernetes computes it from requests and limits.</summary>
    public static string QosClass(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var containers = pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []).ToList();
        var any = containers.Any(c => (c.Resources?.Requests?.Any(r => r.Key is "cpu" or "memory" && !r.Value.IsZero) ?? false)
            || (c.Resources?.Limits?.Any(l => l.Key is "cpu" or "memory" && !l.Value.IsZero) ?? false));
        if (!any)
        {
            return "BestEffort";
        }

        foreach (var c in containers)
        {
            var limits = c.Resources?.Limits ?? [];
            var requests = c.Resources?.Requests ?? [];
            foreach (var resource in new[] { "cpu", "memory" })
            {
                if (!limits.TryGetValue(resource, out var limit))
                {
                    return "Burstable";
                }

                if (requests.TryGetValue(resource, out var request) && request != limit)
                {
                    return "Burstable";
                }
            }
        }

        return "Guaranteed";
    }

    /// <summary>
    /// Ready as the kubelet's GeneratePodReadyCondition: ContainersReady's verdict while it is not True, then every
    /// readiness gate's condition (set by others on the pod's status, as the control plane last sent it) must be True.
    /// </summary>
    private static PodCondition ReadyCondition(Pod pod, PodCondition containersReady)
    {
        if (containersReady.Status != "True")
        {
            return Condition("Ready", false, containersReady.Reason, containersReady.Message);
        }

        var unmet = new List<string>();
        foreach (var gate in pod.Spec.ReadinessGates ?? [])
        {
            var condition = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == gate.ConditionType);
            if (condition is null)
            {
                unmet.Add($"corresponding condition of pod readiness gate \"{gate.ConditionType}\" does not exist.");
            }
            else if (condition.Status != "True")
            {
                unmet.Add($"the status of pod readiness gate \"{gate.ConditionType}\" is not \"True\", but {condition.Status}");
            }
        }

        return unmet.Count == 0
            ? Condition("Ready", true, null, null)
            : Condition("Ready", false, "ReadinessGatesNotReady", string.Join(", ", unmet));
    }

    private static PodCondition Condition(string type, bool status, string? reason, string? message) => new()
    {
        Type = type,
        Status = status ? "True" : "False",
        Reason = reason,
        Message = message,
    };

    private static ContainerStatus ContainerStatusOf(
        ContainerSlot slot,
        Dictionary<string, BackOffWait> waits,
        PodStatusFacts facts,
        string? blockedReason)
    {
        var containerId = slot.Handle is { } h ? $"{h.Driver}://{h.Id}" : null;
        var status = new ContainerStatus
        {
            Name = slot.Name,
            Image = slot.Spec.Image ?? "",
            ImageID = slot.ImageId ?? "",
            ContainerID = containerId,
            RestartCount = slot.RestartCount,
            Ready = slot.Ready && slot.Phase == ContainerPhase.Running,
            Started = slot.Phase == ContainerPhase.Running && slot.Started,
        };

        if (slot.Phase == ContainerPhase.Running)
        {
            status.State = new ContainerState { Running = new ContainerStateRunning { StartedAt = slot.StartedAt } };
            status.LastState = Terminated(slot.LastTermination);
            return status;
        }

        if (slot.WaitingReason is { } reason)
        {
            status.State = Waiting(reason, slot.WaitingMessage);
            status.LastState = Terminated(slot.Exit ?? slot.LastTermination);
            return status;
        }

        if (waits.TryGetValue(slot.Name, out var wait))
        {
            status.State = Waiting(wait.Reason, wait.Message);
            status.LastState = Terminated(slot.Exit);
            return status;
        }

        if (slot.Phase == ContainerPhase.Exited && slot.Exit is { } exit)
        {
            status.State = new ContainerState { Terminated = Terminated(exit)!.Terminated };
            status.LastState = Terminated(slot.LastTermination);
            return status;
        }

        status.State = Waiting(blockedReason ?? facts.PendingReason ?? "ContainerCreating", blockedReason is null ? facts.PendingMessage : null);
        status.LastState = Terminated(slot.LastTermination);
        return status;
    }

    private static ContainerState Waiting(string reason, string? message) =>
        new() { Waiting = new ContainerStateWaiting { Reason = reason, Message = message } };

    private static ContainerState? Terminated(TerminationRecord? record) => record is null
        ? new ContainerState()
        : new ContainerState
        {
            Terminated = new ContainerStateTerminated
            {
                ExitCode = record.ExitCode,
                Signal = record.Signal,
                Reason = record.Reason,
                Message = record.Message,
                StartedAt = record.StartedAt,
                FinishedAt = record.FinishedAt,
                ContainerID = record.ContainerId,
            },
        };
}
