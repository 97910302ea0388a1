using Verge.Core.Core;

namespace Verge.Scheduler.Snapshot;

/// <summary>A taint as the filters read it: value is "" when unset.</summary>
internal readonly record struct TaintInfo(string Key, string Value, string Effect)
{
    public const string NoSchedule = "NoSchedule";
    public const string PreferNoSchedule = "PreferNoSchedule";
    public const string NoExecute = "NoExecute";
}

/// <summary>
/// A node and the aggregates the filters need, kept up to date as pods are bound and unbound: requested amounts per
/// resource, the pod count, the pods themselves (for ports, preemption and spread counting). Within a batch the
/// scheduler works on copies (<see cref="Clone"/>) so the snapshot itself only changes through its own methods.
/// </summary>
internal sealed class NodeInfo
{
    private static readonly Dictionary<string, string> NoLabels = [];

    private NodeInfo(string name, int slot)
    {
        Name = name;
        Slot = slot;
    }

    public string Name { get; }

    /// <summary>The node's position in the snapshot's slot array (stable while the node exists).</summary>
    public int Slot { get; }

    public Dictionary<string, string> Labels { get; private set; } = NoLabels;

    /// <summary>The value of the <c>verge.dev/site</c> label, if any.</summary>
    public string? Site { get; private set; }

    /// <summary>Devices the node reaches (its <c>verge.dev/devices</c> annotation), if any.</summary>
    public HashSet<string>? Devices { get; private set; }

    /// <summary>Runtime classes the node supports (its <c>verge.dev/runtime-classes</c> annotation), if any.</summary>
    public HashSet<string>? RuntimeClasses { get; private set; }

    public bool Unschedulable { get; private set; }

    /// <summary>NoSchedule and NoExecute taints, including the one implied by a Ready condition that is not True.</summary>
    public TaintInfo[] HardTaints { get; private set; } = [];

    public TaintInfo[] SoftTaints { get; private set; } = [];

    /// <summary>Allocatable per registry index; indices beyond the array are zero.</summary>
    public long[] Allocatable { get; private set; } = [];

    public long AllowedPods { get; private set; }

    /// <summary>Sum of bound and assumed pods' requests per registry index; indices beyond the array are zero.</summary>
    public long[] Requested { get; private set; } = [];

    public long NonZeroMilliCpu { get; private set; }

    public long NonZeroMemory { get; private set; }

    public List<PodInfo> Pods { get; private set; } = [];

    public int PortCount { get; private set; }

    /// <summary>
    /// Pending pods nominated to this node by preemption (<c>status.nominatedNodeName</c>), not yet bound: their room is
    /// held against pods of no higher priority, so the room their victims left is not taken by others meanwhile.
    /// </summary>
    public List<PodInfo>? Nominated { get; set; }

    public long AllocatableOf(int index) => (uint)index < (uint)Allocatable.Length ? Allocatable[index] : 0;

    public long RequestedOf(int index) => (uint)index < (uint)Requested.Length ? Requested[index] : 0;

    public static NodeInfo Create(Node node, int slot, ResourceRegistry registry)
    {
        var info = new NodeInfo(node.Metadata.Name ?? "", slot);
        info.Update(node, registry);
        return info;
    }

    /// <summary>Re-reads labels, taints, readiness and allocatable; keeps the bound pods.</summary>
    public void Update(Node node, ResourceRegistry registry)
    {
        Labels = node.Metadata.Labels ?? NoLabels;
        Site = Labels.GetValueOrDefault(Conventions.SiteLabel);
        Devices = ParseList(node.Metadata.Annotations?.GetValueOrDefault(Conventions.DevicesAnnotation));
        RuntimeClasses = ParseList(node.Metadata.Annotations?.GetValueOrDefault(Conventions.RuntimeClassesAnnotation));
        Unschedulable = node.Spec.Unschedulable == true;

        var hard = new List<TaintInfo>();
        var soft = new List<TaintInfo>();
        foreach (var taint in node.Spec.Taints ?? [])
        {
            var info = new TaintInfo(taint.Key, taint.Value ?? "", taint.Effect);
            if (taint.Effect is TaintInfo.NoSchedule or TaintInfo.NoExecute)
            {
                hard.Add(info);
            }
            else if (taint.Effect == TaintInfo.PreferNoSchedule)
            {
                soft.Add(info);
            }
        }

        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status;
        if (ready != "True")
        {
            var key = ready == "Unknown" ? Conventions.UnreachableTaint : Conventions.NotReadyTaint;
            if (!hard.Any(t => t.Key == key))
            {
                hard.Add(new TaintInfo(key, "", TaintInfo.NoSchedule));
            }
        }

        HardTaints = [.. hard];
        SoftTaints = [.. soft];

        var allocatable = node.Status?.Allocatable ?? node.Status?.Capacity;
        var amounts = new long[registry.Count];
        AllowedPods = Conventions.DefaultMaxPods;
        foreach (var (name, quantity) in allocatable ?? [])
        {
            if (name == ResourceRegistry.PodsName)
            {
                AllowedPods = quantity.Value();
                continue;
            }

            var index = registry.GetOrAdd(name);
            if (index >= amounts.Length)
            {
                Array.Resize(ref amounts, registry.Count);
            }

            amounts[index] = ResourceRegistry.Amount(name, quantity);
        }

        Allocatable = amounts;
    }

    public NodeInfo Clone() => new(Name, Slot)
    {
        Labels = Labels,
        Site = Site,
        Devices = Devices,
        RuntimeClasses = RuntimeClasses,
        Unschedulable = Unschedulable,
        HardTaints = HardTaints,
        SoftTaints = SoftTaints,
        Allocatable = Allocatable,
        AllowedPods = AllowedPods,
        Requested = (long[])Requested.Clone(),
        NonZeroMilliCpu = NonZeroMilliCpu,
        NonZeroMemory = NonZeroMemory,
        Pods = [.. Pods],
        PortCount = PortCount,
        Nominated = Nominated,
    };

    public void AddPod(PodInfo pod)
    {
        foreach (var request in pod.Requests)
        {
            if (request.Index < 0)
            {
                continue;
            }

            if (request.Index >= Requested.Length)
            {
                var grown = Requested;
                Array.Resize(ref grown, request.Index + 1);
                Requested = grown;
            }

            Requested[request.Index] += request.Amount;
        }

        NonZeroMilliCpu += pod.NonZeroMilliCpu;
        NonZeroMemory += pod.NonZeroMemory;
        PortCount += pod.HostPorts.Length;
        Pods.Add(pod);
    }

    public bool RemovePod(string key)
    {
        var index = Pods.FindIndex(p => p.Key == key);
        if (index < 0)
        {
            return false;
        }

        var pod = Pods[index];
        Pods.RemoveAt(index);
        foreach (var request in pod.Requests)
        {
            if (request.Index >= 0 && request.Index < Requested.Length)
            {
                Requested[request.Index] -= request.Amount;
            }
        }

        NonZeroMilliCpu -= pod.NonZeroMilliCpu;
        NonZeroMemory -= pod.NonZeroMemory;
        PortCount -= pod.HostPorts.Length;
        return true;
    }

    internal static HashSet<string>? ParseList(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            set.Add(item);
        }

        return set.Count == 0 ? null : set;
    }
}
