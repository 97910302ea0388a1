using CsCheck;
using Verge.Core.Meta;
using Verge.Core.Policy;
using Verge.Core.Selectors;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Properties;

/// <summary>
/// Preemption against PodDisruptionBudgets on random clusters of uniform pods (1 cpu each, all of priority 0, on full
/// 4-cpu nodes), where the budgets alone decide: the oracle knows how few budget-breaking victims each node needs.
/// </summary>
public sealed class DisruptionBudgetProperties
{
    private const int Apps = 3;

    /// <summary>Per node, the app of each of its four pods (3: a pod no budget covers); per app, its allowed disruptions.</summary>
    private static readonly Gen<(int[][] Apps, int[] Allowed, int Wanted, int Seed)> GenCase =
        Gen.Select(Gen.Int[0, Apps].Array[4].Array[1, 6], Gen.Int[0, 3].Array[Apps], Gen.Int[1, 4], Gen.Int);

    private static PodDisruptionBudget Budget(int app, int allowed) => new()
    {
        Metadata = new ObjectMeta { Name = $"a{app}", Namespace = "default" },
        Spec = new PodDisruptionBudgetSpec { Selector = new LabelSelector { MatchLabels = new() { ["app"] = $"a{app}" } } },
        Status = new PodDisruptionBudgetStatus { DisruptionsAllowed = allowed },
    };

    private static (ClusterSnapshot Snapshot, List<Core.Core.Pod> Bound) Cluster(int[][] apps, int[] allowed)
    {
        var nodes = apps.Select((_, i) => Node($"n{i}", cpu: "4")).ToList();
        var bound = apps.SelectMany((onNode, i) => onNode.Select((app, j) =>
            Pod($"b{i}-{j}", cpu: "1", node: $"n{i}", labels: app < Apps ? Labels($"app=a{app}") : Labels("tier=free")))).ToList();
        var snapshot = ClusterSnapshot.From(nodes, bound);
        snapshot.SetDisruptionBudgets(allowed.Select((count, app) => Budget(app, count)));
        return (snapshot, bound);
    }

    /// <summary>How many of a node's victims must break a budget to free <paramref name="wanted"/> cpus there.</summary>
    private static int LeastViolations(int[] onNode, int[] allowed, int wanted)
    {
        var harmless = onNode.Count(a => a == Apps) + Enumerable.Range(0, Apps).Sum(a => Math.Min(allowed[a], onNode.Count(x => x == a)));
        return Math.Max(0, wanted - harmless);
    }

    [Fact]
    public void Preemption_ChoosesANodeThatBreaksTheFewestBudgets_AndBreaksNoMoreThanItMustThere()
    {
        GenCase.Sample((apps, allowed, wanted, seed) =>
        {
            var (snapshot, bound) = Cluster(apps, allowed);
            var plan = Scheduler.Schedule(snapshot, [Pod("x", cpu: $"{wanted}", priority: 10)], new SchedulerOptions { Seed = seed });

            var preemption = plan.Preemptions.Single();
            var node = int.Parse(preemption.NominatedNodeName[1..], System.Globalization.CultureInfo.InvariantCulture);
            var least = apps.Min(onNode => LeastViolations(onNode, allowed, wanted));
            var victims = preemption.Victims.Select(v => bound.Single(b => b.Metadata.Name == v.Name)).ToList();
            var broken = Enumerable.Range(0, Apps).Sum(a => Math.Max(0, victims.Count(v => v.Metadata.Labels!.GetValueOrDefault("app") == $"a{a}") - allowed[a]));
            return preemption.Victims.Count == wanted
                && LeastViolations(apps[node], allowed, wanted) == least
                && broken == least;
        }, iter: 500);
    }

    [Fact]
    public void Preemption_WithoutBudgets_ChoosesAsBefore()
    {
        // Budgets that allow every disruption change nothing: the same victims as with no budgets at all.
        GenCase.Sample((apps, _, wanted, seed) =>
        {
            var generous = Enumerable.Repeat(100, Apps).ToArray();
            var (withBudgets, _) = Cluster(apps, generous);
            var (without, _) = Cluster(apps, generous);
            without.SetDisruptionBudgets([]);
            var pod = Pod("x", cpu: $"{wanted}", priority: 10);
            var a = Scheduler.Schedule(withBudgets, [pod], new SchedulerOptions { Seed = seed }).Preemptions.Single();
            var b = Scheduler.Schedule(without, [pod], new SchedulerOptions { Seed = seed }).Preemptions.Single();
            return a.NominatedNodeName == b.NominatedNodeName
                && a.Victims.Select(v => v.Name).Order().SequenceEqual(b.Victims.Select(v => v.Name).Order());
        }, iter: 300);
    }
}
