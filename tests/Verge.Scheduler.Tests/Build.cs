using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Scheduler.Tests;

/// <summary>Terse builders for nodes and pods.</summary>
internal static class Build
{
    public static Node Node(string name, string cpu = "4", string memory = "8Gi", int pods = 110,
        Dictionary<string, string>? labels = null, List<Taint>? taints = null, string ready = "True",
        bool unschedulable = false, Dictionary<string, string>? extra = null, Dictionary<string, string>? annotations = null)
    {
        var allocatable = new Dictionary<string, Quantity>
        {
            ["cpu"] = Quantity.Parse(cpu),
            ["memory"] = Quantity.Parse(memory),
            ["ephemeral-storage"] = Quantity.Parse("20Gi"),
            ["pods"] = Quantity.FromUnits(pods),
        };
        foreach (var (key, value) in extra ?? [])
        {
            allocatable[key] = Quantity.Parse(value);
        }

        return new Node
        {
            Metadata = new ObjectMeta { Name = name, Labels = labels, Annotations = annotations },
            Spec = new NodeSpec { Taints = taints, Unschedulable = unschedulable ? true : null },
            Status = new NodeStatus
            {
                Allocatable = allocatable,
                Conditions = ready is null ? null : [new NodeCondition { Type = "Ready", Status = ready }],
            },
        };
    }

    public static Pod Pod(string name, string? cpu = null, string? memory = null, int priority = 0, string? node = null,
        Dictionary<string, string>? labels = null, string ns = "default", Dictionary<string, string>? extra = null,
        int hostPort = 0, Dictionary<string, string>? annotations = null)
    {
        var requests = new Dictionary<string, Quantity>();
        if (cpu is not null)
        {
            requests["cpu"] = Quantity.Parse(cpu);
        }

        if (memory is not null)
        {
            requests["memory"] = Quantity.Parse(memory);
        }

        foreach (var (key, value) in extra ?? [])
        {
            requests[key] = Quantity.Parse(value);
        }

        return new Pod
        {
            Metadata = new ObjectMeta { Name = name, Namespace = ns, Labels = labels, Annotations = annotations },
            Spec = new PodSpec
            {
                NodeName = node,
                Priority = priority,
                Containers =
                [
                    new Container
                    {
                        Name = "c",
                        Resources = new ResourceRequirements { Requests = requests },
                        Ports = hostPort > 0 ? [new ContainerPort { Port = 8080, HostPort = hostPort }] : null,
                    },
                ],
            },
        };
    }

    public static Dictionary<string, string> Labels(params string[] pairs) =>
        pairs.Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);

    public static Taint Taint(string key, string? value, string effect) => new() { Key = key, Value = value, Effect = effect };

    public static TopologySpreadConstraint Spread(string key, int maxSkew, string app, bool hard = true) => new()
    {
        MaxSkew = maxSkew,
        TopologyKey = key,
        WhenUnsatisfiable = hard ? "DoNotSchedule" : "ScheduleAnyway",
        LabelSelector = new LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = app } },
    };

    public static NodeSelectorRequirement Req(string key, string op, params string[] values) =>
        new() { Key = key, Operator = op, Values = values.Length == 0 ? null : [.. values] };

    public static Pod WithRequiredAffinity(this Pod pod, params NodeSelectorTerm[] terms)
    {
        pod.Spec.Affinity ??= new Affinity();
        pod.Spec.Affinity.NodeAffinity ??= new NodeAffinity();
        pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = new NodeSelector { NodeSelectorTerms = [.. terms] };
        return pod;
    }

    public static Pod WithPreferredAffinity(this Pod pod, int weight, NodeSelectorTerm term)
    {
        pod.Spec.Affinity ??= new Affinity();
        pod.Spec.Affinity.NodeAffinity ??= new NodeAffinity();
        (pod.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution ??= []).Add(new PreferredSchedulingTerm { Weight = weight, Preference = term });
        return pod;
    }

    /// <summary>The pod being deleted (its node has yet to stop it).</summary>
    public static Pod Terminating(this Pod pod)
    {
        pod.Metadata.DeletionTimestamp = DateTimeOffset.UnixEpoch;
        return pod;
    }

    /// <summary>The pod as its node reports it started (<c>status.startTime</c>); null: not started yet.</summary>
    public static Pod StartedAt(this Pod pod, DateTimeOffset? at)
    {
        (pod.Status ??= new PodStatus()).StartTime = at;
        return pod;
    }

    public static Pod WithTolerations(this Pod pod, params Toleration[] tolerations)
    {
        pod.Spec.Tolerations = [.. tolerations];
        return pod;
    }

    public static Pod WithRuntimeClass(this Pod pod, string name)
    {
        pod.Spec.RuntimeClassName = name;
        return pod;
    }

    public static Pod WithSpread(this Pod pod, params TopologySpreadConstraint[] constraints)
    {
        pod.Spec.TopologySpreadConstraints = [.. constraints];
        return pod;
    }

    public static SchedulingPlan Schedule(ClusterSnapshot snapshot, params Pod[] pods) =>
        Scheduler.Schedule(snapshot, pods, new SchedulerOptions { Seed = 7 });

    public static string Message(SchedulingPlan plan) => Assert.Single(plan.Failures).Message;

    public static string NodeOf(SchedulingPlan plan, string pod) =>
        plan.Bindings.Single(b => b.Pod.Metadata.Name == pod).NodeName;
}
