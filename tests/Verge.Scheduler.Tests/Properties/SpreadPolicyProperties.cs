using CsCheck;
using Verge.Core.Core;
using Verge.Core.Selectors;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Properties;

/// <summary>
/// DoNotSchedule spread with the node-inclusion policies and matchLabelKeys, checked on random clusters against an
/// oracle written from kube-scheduler's PodTopologySpread: a pod is bound only where every filter passes, and it is
/// refused only when no node would pass.
/// </summary>
public sealed class SpreadPolicyProperties
{
    private static readonly string?[] Policies = [null, "Honor", "Ignore"];

    private sealed record Case(List<Node> Nodes, List<Pod> Bound, List<Pod> Pending, int Seed);

    private static Node MakeNode(int x, int i)
    {
        var labels = new Dictionary<string, string> { ["zone"] = $"z{x / 4 % 2}" };
        if (x % 4 < 3)
        {
            labels[Conventions.SiteLabel] = $"s{x % 4}";
        }

        return Node($"n{i:D2}", labels: labels,
            taints: x / 8 % 3 == 0 ? [Taint("dedicated", "x", x / 24 % 2 == 0 ? "NoSchedule" : "NoExecute")] : null,
            unschedulable: x / 48 % 5 == 0);
    }

    private static Pod MakeBound(int x, int i, List<Node> nodes) =>
        Pod($"b{i}", node: nodes[x % nodes.Count].Metadata.Name,
            labels: Labels($"app={(x / 100 % 3 == 0 ? "other" : "web")}", $"rev=r{x / 300 % 2}"));

    private static Pod MakePending(int x, int i)
    {
        var pod = Pod($"p{i}", labels: Labels("app=web", $"rev=r{x % 2}"));
        var constraint = Spread(Conventions.SiteLabel, 1 + (x / 2 % 2), "web");
        constraint.MatchLabelKeys = x / 4 % 2 == 1 ? ["rev", "absent"] : null;
        constraint.NodeAffinityPolicy = Policies[x / 8 % 3];
        constraint.NodeTaintsPolicy = Policies[x / 24 % 3];
        constraint.MinDomains = x / 72 % 4 == 0 ? 3 : null;
        pod.WithSpread(constraint);
        if (x / 288 % 3 == 0)
        {
            pod.Spec.NodeSelector = Labels("zone=z0");
        }

        var tolerations = new List<Toleration>();
        if (x / 864 % 2 == 0)
        {
            tolerations.Add(new Toleration { Key = "dedicated", Operator = "Exists" });
        }

        if (x / 1728 % 4 == 0)
        {
            tolerations.Add(new Toleration { Key = Conventions.UnschedulableTaint, Operator = "Exists", Effect = "NoSchedule" });
        }

        pod.Spec.Tolerations = tolerations.Count > 0 ? tolerations : null;
        return pod;
    }

    private static readonly Gen<Case> Cases =
        Gen.Select(Gen.Int[0, 1 << 20].Array[1, 10], Gen.Int[0, 1 << 20].Array[0, 16], Gen.Int[0, 1 << 20].Array[1, 12], Gen.Int,
            (nodes, bound, pending, seed) =>
            {
                var n = nodes.Select(MakeNode).ToList();
                return new Case(n, bound.Select((x, i) => MakeBound(x, i, n)).ToList(), pending.Select(MakePending).ToList(), seed);
            });

    private static bool Tolerates(Pod pod, string key, string effect) =>
        pod.Spec.Tolerations?.Any(t => (string.IsNullOrEmpty(t.Key) || t.Key == key) && (string.IsNullOrEmpty(t.Effect) || t.Effect == effect)
            && t.Operator == "Exists") == true;

    private static bool ToleratesNode(Pod pod, Node node) =>
        (node.Spec.Taints ?? []).All(t => Tolerates(pod, t.Key, t.Effect))
        && (node.Spec.Unschedulable != true || Tolerates(pod, Conventions.UnschedulableTaint, "NoSchedule"));

    private static bool MatchesSelector(Pod pod, Node node) =>
        (pod.Spec.NodeSelector ?? []).All(p => node.Metadata.Labels?.GetValueOrDefault(p.Key) == p.Value);

    /// <summary>kube-scheduler's verdict for one node, given the pods placed so far (resources are never short here).</summary>
    private static bool Fits(Pod pod, Node node, List<Node> nodes, List<(Pod Pod, Node Node)> placed)
    {
        if (!ToleratesNode(pod, node) || !MatchesSelector(pod, node))
        {
            return false;
        }

        var constraint = pod.Spec.TopologySpreadConstraints![0];
        var key = constraint.TopologyKey;
        if (node.Metadata.Labels?.GetValueOrDefault(key) is not { } domain)
        {
            return false;
        }

        var selector = LabelSelectorExpression.FromLabelSelector(constraint.LabelSelector);
        var own = (constraint.MatchLabelKeys ?? []).Where(k => pod.Metadata.Labels!.ContainsKey(k))
            .Select(k => new KeyValuePair<string, string>(k, pod.Metadata.Labels![k])).ToList();
        bool Counted(Pod p) => p.Metadata.Namespace == pod.Metadata.Namespace && selector.Matches(p.Metadata.Labels)
            && own.All(o => p.Metadata.Labels!.GetValueOrDefault(o.Key) == o.Value);
        bool Eligible(Node n) => n.Metadata.Labels?.ContainsKey(key) == true
            && (constraint.NodeAffinityPolicy == "Ignore" || MatchesSelector(pod, n))
            && (constraint.NodeTaintsPolicy != "Honor" || ToleratesNode(pod, n));

        var counts = nodes.Where(Eligible).Select(n => n.Metadata.Labels![key]).Distinct().ToDictionary(d => d, _ => 0);
        foreach (var (p, n) in placed)
        {
            if (Eligible(n) && Counted(p))
            {
                counts[n.Metadata.Labels![key]]++;
            }
        }

        var min = counts.Count < (constraint.MinDomains ?? 1) || counts.Count == 0 ? 0 : counts.Values.Min();
        var self = Counted(pod) ? 1 : 0;
        return counts.GetValueOrDefault(domain) + self - min <= constraint.MaxSkew;
    }

    [Fact]
    public void EveryPodIsBoundWhereKubeSchedulerWouldAllowIt_AndRefusedOnlyWhenNoNodeWould()
    {
        Cases.Sample(c =>
        {
            var plan = Scheduler.Schedule(ClusterSnapshot.From(c.Nodes, c.Bound), c.Pending,
                new SchedulerOptions { Seed = c.Seed, EnablePreemption = false });
            var boundTo = plan.Bindings.ToDictionary(b => b.Pod.Metadata.Name!, b => b.NodeName);
            var placed = c.Bound.Select(p => (p, c.Nodes.Single(n => n.Metadata.Name == p.Spec.NodeName))).ToList();
            foreach (var pod in c.Pending)
            {
                if (boundTo.TryGetValue(pod.Metadata.Name!, out var name))
                {
                    var node = c.Nodes.Single(n => n.Metadata.Name == name);
                    if (!Fits(pod, node, c.Nodes, placed))
                    {
                        return false;
                    }

                    placed.Add((pod, node));
                }
                else if (c.Nodes.Any(n => Fits(pod, n, c.Nodes, placed)))
                {
                    return false;
                }
            }

            return true;
        }, iter: 400);
    }
}
