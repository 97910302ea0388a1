using CsCheck;
using Verge.Core.Core;
using Verge.Core.Quantities;
using Verge.Scheduler.Filters;
using Verge.Scheduler.Snapshot;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Properties;

/// <summary>Invariants checked on random clusters and batches against oracles written from the specification.</summary>
public sealed class SchedulerProperties
{
    private sealed record NodeSpecGen(int Cpu, int MemoryGi, int Pods, int Gpu, int Site, bool Tainted, bool Ready, bool Cordoned);

    private sealed record PodSpecGen(int MilliCpu, int MemoryMi, int Gpu, int Priority, int HostPort, int App, bool Tolerates, int SiteSelector, int Unused);

    private static readonly Gen<NodeSpecGen> GenNode =
        Gen.Select(Gen.Int[1, 8], Gen.Int[1, 16], Gen.Int[1, 8], Gen.Int[0, 2], Gen.Int[0, 4], Gen.Int[0, 5], Gen.Int[0, 9], Gen.Int[0, 9],
            (cpu, mem, pods, gpu, site, taint, ready, cordon) => new NodeSpecGen(cpu, mem, pods, gpu, site, taint == 0, ready != 0, cordon == 0));

    private static readonly Gen<PodSpecGen> GenPod =
        Gen.Select(
            Gen.Select(Gen.Int[0, 3000], Gen.Int[0, 4096], Gen.Int[0, 3], Gen.Int[0, 3], (cpu, mem, gpu, prio) => (cpu, mem, gpu, prio)),
            Gen.Select(Gen.Int[0, 5], Gen.Int[0, 3], Gen.Bool, Gen.Int[0, 6], (port, app, tol, sel) => (port, app, tol, sel)),
            (a, b) => new PodSpecGen(a.cpu, a.mem, a.gpu == 3 ? 1 : 0, a.prio, b.port switch { 0 => 80, 1 => 81, _ => 0 }, b.app, b.tol, b.sel, 1));

    private static readonly Gen<(NodeSpecGen[] Nodes, PodSpecGen[] Bound, int[] BoundOn, PodSpecGen[] Pending, int Seed)> GenCase =
        Gen.Select(GenNode.Array[1, 12], GenPod.Array[0, 20], Gen.Int[0, 1000].Array[20], GenPod.Array[1, 30], Gen.Int,
            (nodes, bound, on, pending, seed) => (nodes, bound, on, pending, seed));

    private static Node MakeNode(NodeSpecGen n, int i) => Node($"n{i:D2}", cpu: n.Cpu.ToString(), memory: $"{n.MemoryGi}Gi", pods: n.Pods,
        labels: n.Site == 4 ? null : Labels($"verge.dev/site=s{n.Site}"),
        taints: n.Tainted ? [Taint("dedicated", "x", "NoSchedule")] : null,
        ready: n.Ready ? "True" : "Unknown", unschedulable: n.Cordoned,
        extra: n.Gpu > 0 ? new() { ["verge.dev/gpu"] = n.Gpu.ToString() } : null);

    private static Pod MakePod(PodSpecGen p, string name, bool pending)
    {
        var pod = Pod(name, cpu: p.MilliCpu > 0 ? $"{p.MilliCpu}m" : null, memory: p.MemoryMi > 0 ? $"{p.MemoryMi}Mi" : null,
            priority: p.Priority, extra: p.Gpu > 0 ? new() { ["verge.dev/gpu"] = "1" } : null, hostPort: p.HostPort,
            labels: pending ? Labels($"app=a{p.App}") : Labels("app=bound"));
        if (p.Tolerates)
        {
            pod.WithTolerations(new Toleration { Key = "dedicated", Operator = "Exists" });
        }

        if (pending && p.App == 0)
        {
            // Every pod of app a0 spreads over sites with the same constraint and no node selector.
            pod.WithSpread(Spread(Conventions.SiteLabel, 1, "a0"));
        }
        else if (p.SiteSelector < 4)
        {
            pod.Spec.NodeSelector = Labels($"verge.dev/site=s{p.SiteSelector}");
        }

        return pod;
    }

    private sealed record Case(List<Node> Nodes, List<Pod> Bound, List<Pod> Pending, int Seed);

    /// <summary>Bound pods are placed only where they fit, so the starting cluster is never overcommitted.</summary>
    private static Case Materialize((NodeSpecGen[] Nodes, PodSpecGen[] Bound, int[] BoundOn, PodSpecGen[] Pending, int Seed) c)
    {
        var nodes = c.Nodes.Select(MakeNode).ToList();
        var used = new Dictionary<string, (long Cpu, long Mem, long Gpu, int Pods, HashSet<int> Ports)>();
        var bound = new List<Pod>();
        for (var i = 0; i < c.Bound.Length; i++)
        {
            var node = nodes[c.BoundOn[i] % nodes.Count];
            var pod = MakePod(c.Bound[i], $"b{i}", pending: false);
            var u = used.GetValueOrDefault(node.Metadata.Name!, (0, 0, 0, 0, []));
            var r = PodInfo.PodRequests(pod.Spec);
            var alloc = node.Status!.Allocatable!;
            if (u.Cpu + r.GetValueOrDefault("cpu") > alloc["cpu"].MilliValue()
                || u.Mem + r.GetValueOrDefault("memory") > alloc["memory"].Value()
                || u.Gpu + r.GetValueOrDefault("verge.dev/gpu") > (alloc.TryGetValue("verge.dev/gpu", out var g) ? g.Value() : 0)
                || u.Pods + 1 > alloc["pods"].Value()
                || (c.Bound[i].HostPort > 0 && u.Ports.Contains(c.Bound[i].HostPort)))
            {
                continue;
            }

            if (c.Bound[i].HostPort > 0)
            {
                u.Ports.Add(c.Bound[i].HostPort);
            }

            used[node.Metadata.Name!] = (u.Cpu + r.GetValueOrDefault("cpu"), u.Mem + r.GetValueOrDefault("memory"), u.Gpu + r.GetValueOrDefault("verge.dev/gpu"), u.Pods + 1, u.Ports);
            pod.Spec.NodeName = node.Metadata.Name;
            bound.Add(pod);
        }

        var pending = c.Pending.Select((p, i) => MakePod(p, $"p{i}", pending: true)).ToList();
        return new Case(nodes, bound, pending, c.Seed);
    }

    private static readonly Gen<Case> Cases = GenCase.Select(Materialize);

    /// <summary>Pods on each node after the plan: bound minus victims, plus bindings and nominated preemptors.</summary>
    private static Dictionary<string, List<Pod>> After(Case c, SchedulingPlan plan)
    {
        var victims = plan.Preemptions.SelectMany(p => p.Victims).Select(v => v.Name).ToHashSet();
        var result = c.Nodes.ToDictionary(n => n.Metadata.Name!, _ => new List<Pod>());
        foreach (var pod in c.Bound.Where(p => !victims.Contains(p.Metadata.Name!)))
        {
            result[pod.Spec.NodeName!].Add(pod);
        }

        foreach (var b in plan.Bindings)
        {
            result[b.NodeName].Add(b.Pod);
        }

        foreach (var p in plan.Preemptions)
        {
            result[p.NominatedNodeName].Add(p.Pod);
        }

        return result;
    }

    [Fact]
    public void NoNodeIsEverOvercommitted()
    {
        Cases.Sample(c =>
        {
            var plan = Scheduler.Schedule(ClusterSnapshot.From(c.Nodes, c.Bound), c.Pending, new SchedulerOptions { Seed = c.Seed });
            foreach (var (name, pods) in After(c, plan))
            {
                var alloc = c.Nodes.Single(n => n.Metadata.Name == name).Status!.Allocatable!;
                var requests = pods.Select(p => PodInfo.PodRequests(p.Spec)).ToList();
                foreach (var resource in new[] { "cpu", "memory", "verge.dev/gpu" })
                {
                    var limit = alloc.TryGetValue(resource, out var q) ? ResourceRegistry.Amount(resource, q) : 0;
                    if (requests.Sum(r => r.GetValueOrDefault(resource)) > limit)
                    {
                        return false;
                    }
                }

                var ports = pods.SelectMany(p => p.Spec.Containers).SelectMany(k => k.Ports ?? []).Where(p => p.HostPort > 0).Select(p => p.HostPort).ToList();
                if (pods.Count > alloc["pods"].Value() || ports.Count != ports.Distinct().Count())
                {
                    return false;
                }
            }

            return true;
        }, iter: 300);
    }

    [Fact]
    public void NoPodLandsOnANodeThatFailsAFilter()
    {
        Cases.Sample(c =>
        {
            var plan = Scheduler.Schedule(ClusterSnapshot.From(c.Nodes, c.Bound), c.Pending, new SchedulerOptions { Seed = c.Seed });
            foreach (var (pod, nodeName) in plan.Bindings.Select(b => (b.Pod, b.NodeName)).Concat(plan.Preemptions.Select(p => (p.Pod, p.NominatedNodeName))))
            {
                var node = c.Nodes.Single(n => n.Metadata.Name == nodeName);
                var tolerates = pod.Spec.Tolerations?.Count > 0;
                var ready = node.Status!.Conditions![0].Status == "True";
                var tainted = node.Spec.Taints?.Count > 0;
                var labels = node.Metadata.Labels ?? [];
                var selectorOk = pod.Spec.NodeSelector is null || pod.Spec.NodeSelector.All(p => labels.GetValueOrDefault(p.Key) == p.Value);
                var spreadOk = pod.Spec.TopologySpreadConstraints is null || labels.ContainsKey(Conventions.SiteLabel);
                if (!ready || node.Spec.Unschedulable == true || (tainted && !tolerates) || !selectorOk || !spreadOk)
                {
                    return false;
                }
            }

            return true;
        }, iter: 300);
    }

    [Fact]
    public void DoNotScheduleSkewHoldsAfterABatch()
    {
        Cases.Sample(c =>
        {
            var plan = Scheduler.Schedule(ClusterSnapshot.From(c.Nodes, c.Bound), c.Pending, new SchedulerOptions { Seed = c.Seed });
            var siteOf = c.Nodes.Where(n => n.Metadata.Labels?.ContainsKey(Conventions.SiteLabel) == true)
                .ToDictionary(n => n.Metadata.Name!, n => n.Metadata.Labels![Conventions.SiteLabel]);
            var counts = siteOf.Values.Distinct().ToDictionary(s => s, _ => 0);
            foreach (var (pod, nodeName) in plan.Bindings.Select(b => (b.Pod, b.NodeName)).Concat(plan.Preemptions.Select(p => (p.Pod, p.NominatedNodeName))))
            {
                if (pod.Metadata.Labels!["app"] == "a0")
                {
                    counts[siteOf[nodeName]]++;
                }
            }

            return counts.Count == 0 || counts.Values.Max() - counts.Values.Min() <= 1;
        }, iter: 300);
    }

    [Fact]
    public void PreemptionOnlyEvictsLowerPriorities()
    {
        Cases.Sample(c =>
        {
            var plan = Scheduler.Schedule(ClusterSnapshot.From(c.Nodes, c.Bound), c.Pending, new SchedulerOptions { Seed = c.Seed });
            var bound = c.Bound.ToDictionary(p => p.Metadata.Name!);
            return plan.Preemptions.All(p => p.Victims.All(v =>
                v.Priority < p.Pod.Spec.Priority && bound[v.Name].Spec.NodeName == p.NominatedNodeName));
        }, iter: 300);
    }

    [Fact]
    public void PreemptionPicksTheLowestPrioritiesFirst()
    {
        // Uniform pods on uniform nodes: a node needs its k lowest-priority pods gone; the scheduler must evict exactly
        // those on the node whose k-th lowest priority is smallest.
        Gen.Select(Gen.Int[0, 4].Array[4].Array[1, 6], Gen.Int[1, 5], Gen.Int).Sample((priorities, wanted, seed) =>
        {
            var nodes = priorities.Select((_, i) => Node($"n{i}", cpu: "4")).ToList();
            var bound = priorities.SelectMany((ps, i) => ps.Select((p, j) => Pod($"b{i}-{j}", cpu: "1", priority: p, node: $"n{i}"))).ToList();
            var pod = Pod("x", cpu: $"{wanted}", priority: 3);
            var plan = Scheduler.Schedule(ClusterSnapshot.From(nodes, bound), [pod], new SchedulerOptions { Seed = seed });

            var bestMax = priorities.Select(ps => ps.Where(p => p < 3).Order().ToList())
                .Where(lower => wanted <= 4 && lower.Count >= wanted)
                .Select(lower => lower[wanted - 1])
                .DefaultIfEmpty(-1).Min();
            if (bestMax < 0 || wanted > 4)
            {
                return plan.Preemptions.Count == 0;
            }

            var preemption = plan.Preemptions.Single();
            var onNode = bound.Where(b => b.Spec.NodeName == preemption.NominatedNodeName && b.Spec.Priority < 3).ToList();
            var victims = preemption.Victims.Select(v => v.Name).ToHashSet();
            var kept = onNode.Where(b => !victims.Contains(b.Metadata.Name!)).ToList();
            return preemption.Victims.Count == wanted
                && preemption.Victims.Max(v => v.Priority) == bestMax
                && kept.All(k => k.Spec.Priority >= preemption.Victims.Max(v => v.Priority));
        }, iter: 300);
    }

    [Fact]
    public void PreemptionAmongOtherwiseEqualNodes_PicksTheOneWhoseVictimsStartedLast()
    {
        // Every node holds the same priorities, so the victims tie on budgets, highest priority, sum and count; each
        // node's pods share one start time (hours after an epoch, or none: not started, which counts as the newest).
        // The pod must go to the node whose start is latest, the first such node in walk (name) order on a tie.
        var epoch = DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        Gen.Select(Gen.Int[0, 2].Array[4], Gen.Int[-1, 3].Array[2, 6], Gen.Int[1, 4], Gen.Int).Sample((priorities, starts, wanted, seed) =>
        {
            DateTimeOffset? StartOf(int node) => starts[node] < 0 ? null : epoch.AddHours(starts[node]);
            var nodes = starts.Select((_, i) => Node($"n{i}", cpu: "4")).ToList();
            var bound = starts.SelectMany((_, i) => priorities.Select((p, j) => Pod($"b{i}-{j}", cpu: "1", priority: p, node: $"n{i}").StartedAt(StartOf(i)))).ToList();
            var plan = Scheduler.Schedule(ClusterSnapshot.From(nodes, bound), [Pod("x", cpu: $"{wanted}", priority: 3)], new SchedulerOptions { Seed = seed });

            var latest = starts.Select(s => s < 0 ? int.MaxValue : s).Max();
            var expected = Enumerable.Range(0, starts.Length).First(i => (starts[i] < 0 ? int.MaxValue : starts[i]) == latest);
            var preemption = plan.Preemptions.Single();
            return preemption.NominatedNodeName == $"n{expected}" && preemption.Victims.Count == wanted;
        }, iter: 300);
    }

    [Fact]
    public void SchedulingIsDeterministicForASeed()
    {
        Cases.Sample(c =>
        {
            static string Render(SchedulingPlan plan) => string.Join('|',
                plan.Bindings.Select(b => $"{b.Pod.Metadata.Name}>{b.NodeName}")
                    .Concat(plan.Preemptions.Select(p => $"{p.Pod.Metadata.Name}!{p.NominatedNodeName}:{string.Join(',', p.Victims.Select(v => v.Name))}"))
                    .Concat(plan.Failures.Select(f => $"{f.Pod.Metadata.Name}?{f.Message}")));

            var first = Scheduler.Schedule(ClusterSnapshot.From(c.Nodes, c.Bound), c.Pending, new SchedulerOptions { Seed = c.Seed });
            var second = Scheduler.Schedule(ClusterSnapshot.From(c.Nodes, c.Bound), c.Pending, new SchedulerOptions { Seed = c.Seed });
            return Render(first) == Render(second);
        }, iter: 200);
    }

    [Fact]
    public void ApplyingPlansBatchAfterBatchNeverOvercommits()
    {
        Cases.Sample(c =>
        {
            var snapshot = ClusterSnapshot.From(c.Nodes, c.Bound);
            for (var round = 0; round < 3; round++)
            {
                var pods = c.Pending.Select(p => { var copy = MakePodCopy(p, round); return copy; }).ToList();
                snapshot.Apply(Scheduler.Schedule(snapshot, pods, new SchedulerOptions { Seed = c.Seed + round }));
            }

            return snapshot.NodeNames.All(name =>
            {
                var node = c.Nodes.Single(n => n.Metadata.Name == name);
                var info = NodeInfo.Create(node, 0, new ResourceRegistry());
                return FilterChainReadyCheck(snapshot, name, info);
            });
        }, iter: 100);
    }

    private static Pod MakePodCopy(Pod pod, int round) => new()
    {
        Metadata = new() { Name = $"{pod.Metadata.Name}-r{round}", Namespace = pod.Metadata.Namespace, Labels = pod.Metadata.Labels },
        Spec = pod.Spec,
    };

    /// <summary>Requested never exceeds allocatable for cpu and memory on a node of the snapshot.</summary>
    private static bool FilterChainReadyCheck(ClusterSnapshot snapshot, string name, NodeInfo fresh)
    {
        var slot = snapshot.SlotOf(name);
        var node = snapshot.Slots[slot]!;
        return node.RequestedOf(ResourceRegistry.Cpu) <= fresh.AllocatableOf(ResourceRegistry.Cpu)
            && node.RequestedOf(ResourceRegistry.Memory) <= fresh.AllocatableOf(ResourceRegistry.Memory)
            && node.Pods.Count <= fresh.AllowedPods;
    }

    [Fact]
    public void FitCodeOfEveryBoundNodeIsFitForTheOracleFreeFilters()
    {
        // Re-running the filters on the final state, with the pod removed, must accept the node it was bound to.
        Cases.Sample(c =>
        {
            var snapshot = ClusterSnapshot.From(c.Nodes, c.Bound);
            var plan = Scheduler.Schedule(snapshot, c.Pending, new SchedulerOptions { Seed = c.Seed, EnablePreemption = false });
            snapshot.Apply(plan);
            foreach (var binding in plan.Bindings.Where(b => b.Pod.Spec.TopologySpreadConstraints is null))
            {
                snapshot.Unbind(binding.Pod);
                var pending = Framework.PendingPod.Compile(binding.Pod, snapshot);
                var node = snapshot.Slots[snapshot.SlotOf(binding.NodeName)]!;
                var fits = FilterChain.Run(pending, node, snapshot.Resources, []) == FitCode.Fit;
                snapshot.Bind(binding.Pod, binding.NodeName);
                if (!fits)
                {
                    return false;
                }
            }

            return true;
        }, iter: 200);
    }
}
