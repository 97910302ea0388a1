using System.Globalization;
using Verge.Core.Core;
using Verge.Core.Selectors;

namespace Verge.Core.Meta;

/// <summary>The cells of <c>kubectl get</c> that need more than a field, computed as kubectl's printers do.</summary>
public static class Tables
{
    /// <summary>
    /// READY of a pod: ready containers over containers, such as <c>1/2</c>; sidecars (init containers with
    /// <c>restartPolicy: Always</c>) count among them, and are ready once started and ready, as kubectl counts them.
    /// </summary>
    public static string PodReady(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var sidecars = Sidecars(pod);
        var total = (pod.Spec.Containers?.Count ?? 0) + sidecars.Count;
        var ready = (pod.Status?.ContainerStatuses?.Count(s => s.Ready) ?? 0)
            + (pod.Status?.InitContainerStatuses?.Count(s => sidecars.Contains(s.Name) && s.Started == true && s.Ready) ?? 0);
        return $"{ready}/{total}";
    }

    private static HashSet<string> Sidecars(Pod pod) =>
        [.. (pod.Spec.InitContainers ?? []).Where(c => c.IsSidecar()).Select(c => c.Name)];

    /// <summary>READINESS GATES of a pod: the gates whose condition is True over the gates, or <c>&lt;none&gt;</c>.</summary>
    public static string PodReadinessGates(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Spec.ReadinessGates is not { Count: > 0 } gates)
        {
            return "<none>";
        }

        var met = gates.Count(g => pod.Status?.Conditions?.Any(c => c.Type == g.ConditionType && c.Status == "True") == true);
        return $"{met}/{gates.Count}";
    }

    /// <summary>
    /// RESTARTS of a pod as kubectl counts them: while the pod initializes, the restarts of its init containers up to
    /// the one it waits on; once initialized, those of its sidecars and app containers.
    /// </summary>
    public static string PodRestarts(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var (_, initializing, initRestarts, sidecarRestarts) = InitState(pod);
        var restarts = initializing && !Initialized(pod)
            ? initRestarts
            : sidecarRestarts + (pod.Status?.ContainerStatuses?.Sum(s => s.RestartCount) ?? 0);
        return restarts.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// STATUS of a pod as kubectl computes it: the phase or reason (<c>SchedulingGated</c> while its PodScheduled
    /// condition says so), overridden by the state of init containers (<c>Init:0/1</c>, <c>Init:CrashLoopBackOff</c>)
    /// unless the pod is initialized, and of containers (<c>CrashLoopBackOff</c>, <c>Error</c>, <c>ExitCode:1</c>),
    /// and <c>Terminating</c> once deletion started.
    /// </summary>
    public static string PodStatus(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var status = pod.Status;
        var reason = string.IsNullOrEmpty(status?.Reason) ? status?.Phase ?? "Pending" : status.Reason;
        if (string.IsNullOrEmpty(reason))
        {
            reason = "Pending";
        }

        if (status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Reason == "SchedulingGated") == true)
        {
            reason = "SchedulingGated";
        }

        var (initReason, initializing, _, _) = InitState(pod);
        if (initializing)
        {
            reason = initReason!;
        }

        if (!initializing || Initialized(pod))
        {
            var hasRunning = false;
            var statuses = status?.ContainerStatuses ?? [];
            for (var i = statuses.Count - 1; i >= 0; i--)
            {
                var container = statuses[i];
                if (container.State?.Waiting is { Reason.Length: > 0 } waiting)
                {
                    reason = waiting.Reason!;
                }
                else if (container.State?.Terminated is { } terminated)
                {
                    reason = !string.IsNullOrEmpty(terminated.Reason)
                        ? terminated.Reason
                        : terminated.Signal is { } signal and not 0 ? $"Signal:{signal}" : $"ExitCode:{terminated.ExitCode}";
                }
                else if (container.Ready && container.State?.Running is not null)
                {
                    hasRunning = true;
                }
            }

            if (reason == "Completed" && hasRunning)
            {
                reason = status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true ? "Running" : "NotReady";
            }
        }

        if (pod.Metadata.DeletionTimestamp is not null)
        {
            reason = status?.Reason == "NodeLost" ? "Unknown" : "Terminating";
        }

        return reason;
    }

    private static bool Initialized(Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Initialized" && c.Status == "True") == true;

    /// <summary>
    /// kubectl's walk over the init container statuses: the reason of the first one the pod waits on (completed ones
    /// and started sidecars are passed), whether there is one, and the restarts up to it, in all and of sidecars.
    /// </summary>
    private static (string? Reason, bool Initializing, int Restarts, int SidecarRestarts) InitState(Pod pod)
    {
        var sidecars = Sidecars(pod);
        var statuses = pod.Status?.InitContainerStatuses ?? [];
        int restarts = 0, sidecarRestarts = 0;
        for (var i = 0; i < statuses.Count; i++)
        {
            var container = statuses[i];
            var sidecar = sidecars.Contains(container.Name);
            restarts += container.RestartCount;
            sidecarRestarts += sidecar ? container.RestartCount : 0;
            var state = container.State;
            if (state?.Terminated is { ExitCode: 0 } || (sidecar && container.Started == true))
            {
                continue;
            }

            var reason = state?.Terminated is { } terminated
                ? string.IsNullOrEmpty(terminated.Reason)
                    ? terminated.Signal is { } signal and not 0 ? $"Init:Signal:{signal}" : $"Init:ExitCode:{terminated.ExitCode}"
                    : "Init:" + terminated.Reason
                : state?.Waiting is { Reason.Length: > 0 } waiting && waiting.Reason != "PodInitializing"
                ? "Init:" + waiting.Reason
                : $"Init:{i}/{pod.Spec.InitContainers?.Count ?? statuses.Count}";
            return (reason, true, restarts, sidecarRestarts);
        }

        return (null, false, restarts, sidecarRestarts);
    }

    /// <summary>STATUS of a node: <c>Ready</c>, <c>NotReady</c> or <c>Unknown</c>, then <c>,SchedulingDisabled</c> when cordoned.</summary>
    public static string NodeStatus(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        var text = ready is null ? "Unknown" : ready.Status == "True" ? "Ready" : "NotReady";
        return node.Spec.Unschedulable == true ? text + ",SchedulingDisabled" : text;
    }

    /// <summary>ROLES of a node, from <c>node-role.kubernetes.io/ROLE</c> and <c>kubernetes.io/role</c> labels.</summary>
    public static string NodeRoles(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var roles = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in node.Metadata.Labels ?? [])
        {
            if (key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal) && key.Length > "node-role.kubernetes.io/".Length)
            {
                roles.Add(key["node-role.kubernetes.io/".Length..]);
            }
            else if (key == "kubernetes.io/role" && value.Length > 0)
            {
                roles.Add(value);
            }
        }

        return roles.Count == 0 ? "<none>" : string.Join(',', roles);
    }

    public static string? NodeAddress(Node node, string type)
    {
        ArgumentNullException.ThrowIfNull(node);
        var addresses = node.Status?.Addresses?.Where(a => a.Type == type).Select(a => a.Address).ToList();
        return addresses is { Count: > 0 } ? string.Join(',', addresses) : null;
    }

    /// <summary>CONTAINERS of a workload: the template's container names joined by commas.</summary>
    public static string? ContainerNames(PodTemplateSpec? template) =>
        template?.Spec?.Containers is { Count: > 0 } containers ? string.Join(',', containers.Select(c => c.Name)) : null;

    /// <summary>IMAGES of a workload: the template's container images joined by commas.</summary>
    public static string? Images(PodTemplateSpec? template) =>
        template?.Spec?.Containers is { Count: > 0 } containers ? string.Join(',', containers.Select(c => c.Image)) : null;

    /// <summary>A label selector in string form, or null when absent or not convertible.</summary>
    public static string? SelectorString(LabelSelector? selector)
    {
        if (selector is null)
        {
            return null;
        }

        try
        {
            return selector.ToMatcher().ToString();
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A map as <c>k=v,k2=v2</c> (sorted), or null when empty.</summary>
    /// <summary>The controlling owner as <c>kind.group/name</c>, as kubectl prints a ControllerRevision's CONTROLLER.</summary>
    public static string? ControllerOf(KubeObject obj)
    {
        var owner = obj.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
        if (owner is null)
        {
            return null;
        }

        var slash = owner.ApiVersion.IndexOf('/', StringComparison.Ordinal);
        var group = slash < 0 ? "" : "." + owner.ApiVersion[..slash];
        return $"{owner.Kind.ToLowerInvariant()}{group}/{owner.Name}";
    }

    public static string? MapString(Dictionary<string, string>? map) =>
        map is { Count: > 0 } ? string.Join(',', map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")) : null;

    /// <summary>LAST SEEN of an event: its last timestamp, else its event time, else its creation time.</summary>
    public static DateTimeOffset? EventLastSeen(Event ev)
    {
        ArgumentNullException.ThrowIfNull(ev);
        return ev.LastTimestamp ?? ev.EventTime ?? ev.Metadata.CreationTimestamp;
    }

    /// <summary>OBJECT of an event: <c>kind/name</c> in lower case kind, as kubectl prints it.</summary>
    public static string EventObject(Event ev)
    {
        ArgumentNullException.ThrowIfNull(ev);
        return $"{ev.InvolvedObject.Kind?.ToLowerInvariant()}/{ev.InvolvedObject.Name}";
    }

    public static string? EventSource(Event ev)
    {
        ArgumentNullException.ThrowIfNull(ev);
        if (ev.Source is { Component.Length: > 0 } source)
        {
            return string.IsNullOrEmpty(source.Host) ? source.Component : $"{source.Component}, {source.Host}";
        }

        return ev.ReportingComponent;
    }
}
