using CsCheck;
using Verge.Core.Core;
using Verge.Scheduler.Tests.Filters;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Properties;

/// <summary>Required anti-affinity holds for every pod a plan binds, on random clusters with random placed pods.</summary>
public sealed class AntiAffinityProperties
{
    private static readonly string[] Keys = ["kubernetes.io/hostname", "verge.dev/site", "topology.kubernetes.io/zone"];

    private static readonly Gen<(int Nodes, (int App, int Key, bool Anti, int On)[] Bound, (int App, int Key, bool Anti)[] Pending, int Seed)> GenCase =
        Gen.Select(
            Gen.Int[1, 10],
            Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2], Gen.Bool, Gen.Int[0, 100], (app, key, anti, on) => (app, key, anti, on)).Array[0, 12],
            Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2], Gen.Bool, (app, key, anti) => (app, key, anti)).Array[1, 20],
            Gen.Int,
            (nodes, bound, pending, seed) => (nodes, bound, pending, seed));

    private static Node MakeNode(int i) => Node($"n{i}", labels: Labels(
        $"kubernetes.io/hostname=n{i}", $"verge.dev/site=s{i % 3}", $"topology.kubernetes.io/zone=z{i % 2}"));

    private static Pod MakePod(string name, int app, int key, bool anti)
    {
        var pod = Pod(name, cpu: "100m", labels: Labels($"app=a{app}"));
        return anti ? InterPodAffinityTests.WithAnti(pod, $"a{app}", Keys[key]) : pod;
    }

    [Fact]
    public void Schedule_NeverBindsAPodWhereRequiredAntiAffinityIsViolated()
    {
        GenCase.Sample(c =>
        {
            var nodes = Enumerable.Range(0, c.Nodes).Select(MakeNode).ToList();
            var bound = c.Bound.Select((b, i) => MakePod($"b{i}", b.App, b.Key, b.Anti)).ToList();
            for (var i = 0; i < bound.Count; i++)
            {
                bound[i].Spec.NodeName = $"n{c.Bound[i].On % c.Nodes}";
            }

            var pending = c.Pending.Select((p, i) => MakePod($"p{i}", p.App, p.Key, p.Anti)).ToList();
            var plan = Scheduler.Schedule(ClusterSnapshot.From(nodes, bound), pending, new SchedulerOptions { Seed = c.Seed });

            var labelsOf = nodes.ToDictionary(n => n.Metadata.Name!, n => n.Metadata.Labels!);
            var everyone = bound.Select(p => (Pod: p, Node: p.Spec.NodeName!))
                .Concat(plan.Bindings.Select(b => (b.Pod, b.NodeName))).ToList();
            foreach (var (pod, node) in plan.Bindings.Select(b => (b.Pod, b.NodeName)))
            {
                foreach (var (other, otherNode) in everyone.Where(o => !ReferenceEquals(o.Pod, pod)))
                {
                    if (Violates(pod, node, other, otherNode, labelsOf) || Violates(other, otherNode, pod, node, labelsOf))
                    {
                        return false;
                    }
                }
            }

            return true;
        });
    }

    /// <summary>Whether <paramref name="pod"/>'s required anti-affinity forbids <paramref name="other"/> in its domain.</summary>
    private static bool Violates(Pod pod, string node, Pod other, string otherNode, Dictionary<string, Dictionary<string, string>> labelsOf)
    {
        foreach (var term in pod.Spec.Affinity?.PodAntiAffinity?.RequiredDuringSchedulingIgnoredDuringExecution ?? [])
        {
            var app = term.LabelSelector!.MatchLabels!["app"];
            if (other.Metadata.Labels!["app"] == app && other.Metadata.Namespace == pod.Metadata.Namespace
                && labelsOf[node].TryGetValue(term.TopologyKey, out var a) && labelsOf[otherNode].TryGetValue(term.TopologyKey, out var b) && a == b)
            {
                return true;
            }
        }

        return false;
    }
}
