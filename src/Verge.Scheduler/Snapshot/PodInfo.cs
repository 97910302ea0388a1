using Verge.Core.Core;

namespace Verge.Scheduler.Snapshot;

/// <summary>A resource a pod requests: the registry index (-1 when no node knows the name) and the amount.</summary>
internal readonly record struct ResourceRequest(int Index, string Name, long Amount);

/// <summary>A host port a pod claims: protocol, host IP (0.0.0.0 when unset) and port.</summary>
internal readonly record struct HostPort(string Protocol, string Ip, int Port)
{
    public const string AnyIp = "0.0.0.0";

    public bool ConflictsWith(HostPort other) =>
        Port == other.Port
        && string.Equals(Protocol, other.Protocol, StringComparison.Ordinal)
        && (Ip == AnyIp || other.Ip == AnyIp || string.Equals(Ip, other.Ip, StringComparison.Ordinal));
}

/// <summary>What the scheduler needs of a pod, computed once: identity, labels, priority, requests, host ports and start time.</summary>
internal sealed class PodInfo
{
    /// <summary>Requests the scheduler assumes for scoring when a container names none (kube-scheduler's values).</summary>
    public const long DefaultMilliCpuRequest = 100;
    public const long DefaultMemoryRequest = 200L * 1024 * 1024;

    private static readonly Dictionary<string, string> NoLabels = [];

    private PodInfo(Pod pod, string ns, string name, Dictionary<string, string> labels, int priority,
        ResourceRequest[] requests, long nonZeroCpu, long nonZeroMemory, HostPort[] hostPorts)
    {
        Pod = pod;
        Namespace = ns;
        Name = name;
        Key = KeyOf(ns, name);
        Labels = labels;
        Priority = priority;
        Requests = requests;
        NonZeroMilliCpu = nonZeroCpu;
        NonZeroMemory = nonZeroMemory;
        HostPorts = hostPorts;
        Terminating = pod.Metadata.DeletionTimestamp is not null;
        StartTime = pod.Status?.StartTime;
        RequiredAntiAffinity = Framework.AffinityTerm.CompileRequired(pod.Spec.Affinity?.PodAntiAffinity, ns);
    }

    public Pod Pod { get; }

    public string Namespace { get; }

    public string Name { get; }

    /// <summary><c>namespace/name</c>.</summary>
    public string Key { get; }

    public Dictionary<string, string> Labels { get; }

    public int Priority { get; }

    /// <summary>Non-zero requests only.</summary>
    public ResourceRequest[] Requests { get; }

    public long NonZeroMilliCpu { get; }

    public long NonZeroMemory { get; }

    public HostPort[] HostPorts { get; }

    /// <summary>
    /// Being deleted: it still holds its resources, ports and pod slot until it is gone, as in kube-scheduler (its node
    /// may take seconds to stop it), but no longer counts towards topology spread.
    /// </summary>
    public bool Terminating { get; private init; }

    /// <summary>
    /// When its node started it (<c>status.startTime</c>), null until then. Preemption prefers, among nodes otherwise
    /// equal, the one whose most important victims started last.
    /// </summary>
    public DateTimeOffset? StartTime { get; }

    /// <summary>This pod as one being deleted: a preemption's victim keeps its room until its node has stopped it.</summary>
    public PodInfo AsTerminating() => Terminating
        ? this
        : new PodInfo(Pod, Namespace, Name, Labels, Priority, Requests, NonZeroMilliCpu, NonZeroMemory, HostPorts) { Terminating = true };

    /// <summary>The pod's required anti-affinity terms (empty for most pods): new pods they match keep out of their domains.</summary>
    public Framework.AffinityTerm[] RequiredAntiAffinity { get; }

    public static string KeyOf(string? ns, string? name) => (ns ?? "default") + "/" + (name ?? "");

    public static int PriorityOf(Pod pod) => pod.Spec.Priority ?? pod.Spec.PriorityClassName switch
    {
        "system-node-critical" => Conventions.SystemNodeCritical,
        "system-cluster-critical" => Conventions.SystemClusterCritical,
        _ => 0,
    };

    public static PodInfo Create(Pod pod, ResourceRegistry registry, bool registerResources)
    {
        var totals = PodRequests(pod.Spec);
        var requests = new List<ResourceRequest>(totals.Count);
        foreach (var (name, amount) in totals)
        {
            if (amount <= 0)
            {
                continue;
            }

            var index = registerResources ? registry.GetOrAdd(name) : registry.IndexOf(name);
            requests.Add(new ResourceRequest(index, name, amount));
        }

        requests.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var (nonZeroCpu, nonZeroMemory) = NonZeroRequests(pod.Spec);
        return new PodInfo(pod, pod.Metadata.Namespace ?? "default", pod.Metadata.Name ?? "", pod.Metadata.Labels ?? NoLabels,
            PriorityOf(pod), [.. requests], nonZeroCpu, nonZeroMemory, HostPortsOf(pod.Spec));
    }

    /// <summary>
    /// The pod's effective requests as Kubernetes' PodRequests computes them: for each resource, the larger of the sum
    /// over app containers and sidecars (init containers with <c>restartPolicy: Always</c>, which keep running), and
    /// the most any one init container needs while it runs beside the sidecars started before it. A container without
    /// a request for a resource it limits requests its limit (API defaulting).
    /// </summary>
    public static Dictionary<string, long> PodRequests(PodSpec spec) => EffectiveRequests(spec, ContainerRequests);

    /// <summary>
    /// Kubernetes' PodRequests over per-container amounts: the sum over app containers and sidecars, or the most any
    /// one init container needs beside the sidecars started before it, whichever is larger, per resource.
    /// </summary>
    private static Dictionary<string, long> EffectiveRequests(PodSpec spec, Func<Container, IEnumerable<(string Name, long Amount)>> amountsOf)
    {
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var container in spec.Containers)
        {
            foreach (var (name, amount) in amountsOf(container))
            {
                Add(sums, name, amount);
            }
        }

        var sidecars = new Dictionary<string, long>(StringComparer.Ordinal);
        var init = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var container in spec.InitContainers ?? [])
        {
            var own = amountsOf(container).ToList();
            if (container.IsSidecar())
            {
                foreach (var (name, amount) in own)
                {
                    Add(sums, name, amount);
                    Add(sidecars, name, amount);
                }

                foreach (var (name, amount) in sidecars)
                {
                    Max(init, name, amount);
                }
            }
            else
            {
                foreach (var name in own.Select(r => r.Name).Concat(sidecars.Keys).Distinct())
                {
                    Max(init, name, Saturating(own.Where(r => r.Name == name).Sum(r => r.Amount), sidecars.GetValueOrDefault(name)));
                }
            }
        }

        foreach (var (name, amount) in init)
        {
            Max(sums, name, amount);
        }

        return sums;

        static void Add(Dictionary<string, long> into, string name, long amount) => into[name] = Saturating(into.GetValueOrDefault(name), amount);

        static void Max(Dictionary<string, long> into, string name, long amount)
        {
            if (amount > into.GetValueOrDefault(name))
            {
                into[name] = amount;
            }
        }
    }

    private static IEnumerable<(string Name, long Amount)> ContainerRequests(Container container)
    {
        var requests = container.Resources?.Requests;
        var limits = container.Resources?.Limits;
        if (requests is not null)
        {
            foreach (var (name, quantity) in requests)
            {
                yield return (name, ResourceRegistry.Amount(name, quantity));
            }
        }

        if (limits is not null)
        {
            foreach (var (name, quantity) in limits)
            {
                if (requests is null || !requests.ContainsKey(name))
                {
                    yield return (name, ResourceRegistry.Amount(name, quantity));
                }
            }
        }
    }

    private static (long Cpu, long Memory) NonZeroRequests(PodSpec spec)
    {
        var requests = EffectiveRequests(spec, NonZeroAmounts);
        return (requests.GetValueOrDefault("cpu"), requests.GetValueOrDefault("memory"));

        static IEnumerable<(string Name, long Amount)> NonZeroAmounts(Container container)
        {
            var (cpu, memory) = NonZero(container);
            return [("cpu", cpu), ("memory", memory)];
        }
    }

    private static (long Cpu, long Memory) NonZero(Container container)
    {
        long cpu = 0, memory = 0;
        var seenCpu = false;
        var seenMemory = false;
        foreach (var (name, amount) in ContainerRequests(container))
        {
            if (name == "cpu" && !seenCpu)
            {
                cpu = amount;
                seenCpu = true;
            }
            else if (name == "memory" && !seenMemory)
            {
                memory = amount;
                seenMemory = true;
            }
        }

        return (seenCpu ? cpu : DefaultMilliCpuRequest, seenMemory ? memory : DefaultMemoryRequest);
    }

    private static HostPort[] HostPortsOf(PodSpec spec)
    {
        List<HostPort>? ports = null;
        foreach (var container in spec.Containers)
        {
            foreach (var port in container.Ports ?? [])
            {
                var hostPort = port.HostPort ?? (spec.HostNetwork == true ? port.Port : 0);
                if (hostPort <= 0)
                {
                    continue;
                }

                var ip = string.IsNullOrEmpty(port.HostIP) ? HostPort.AnyIp : port.HostIP;
                (ports ??= []).Add(new HostPort(string.IsNullOrEmpty(port.Protocol) ? "TCP" : port.Protocol, ip, hostPort));
            }
        }

        return ports is null ? [] : [.. ports];
    }

    private static long Saturating(long a, long b)
    {
        var sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? long.MaxValue : sum;
    }
}
