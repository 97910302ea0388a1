using System.Diagnostics;
using System.Globalization;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;
using Verge.Scheduler;

namespace Verge.Benchmarks.Scheduler;

/// <summary>Settings of the scheduler throughput run.</summary>
internal sealed class SchedulerHarnessOptions
{
    public int Nodes { get; private set; } = 5_000;

    public int Pods { get; private set; } = 50_000;

    public int Batch { get; private set; } = 500;

    public int Sites { get; private set; } = 100;

    public int Seed { get; private set; } = 1;

    public ScoringStrategy Strategy { get; private set; } = ScoringStrategy.LeastAllocated;

    public static SchedulerHarnessOptions Parse(string[] args)
    {
        var options = new SchedulerHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--nodes": options.Nodes = Positive(name, value); break;
                case "--pods": options.Pods = Positive(name, value); break;
                case "--batch": options.Batch = Positive(name, value); break;
                case "--sites": options.Sites = Positive(name, value); break;
                case "--seed": options.Seed = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--strategy":
                    options.Strategy = value switch
                    {
                        "least" => ScoringStrategy.LeastAllocated,
                        "most" => ScoringStrategy.MostAllocated,
                        _ => throw new ArgumentException("--strategy takes least or most"),
                    };
                    break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        return options;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} takes a positive integer, got \"{value}\"");
}

/// <summary>
/// Schedules generated pods onto generated nodes through the library alone, in batches as the scheduling loop will,
/// applying each plan to the snapshot before the next batch. Reports pods/s, total time and allocated bytes.
/// </summary>
internal static class SchedulerHarness
{
    public static int Run(SchedulerHarnessOptions options)
    {
        var random = new Random(options.Seed);
        var nodes = Enumerable.Range(0, options.Nodes).Select(i => MakeNode(i, options.Sites, random)).ToList();
        var pods = MakePods(options.Pods, options.Sites, random);
        Console.WriteLine($"scheduler: {options.Nodes} nodes in {options.Sites} sites, {options.Pods} pods, batches of {options.Batch}, {options.Strategy}");

        // Warm the code paths (JIT) on a small copy so the measured run is steady state.
        var warm = ClusterSnapshot.From(nodes.Take(200), []);
        Verge.Scheduler.Scheduler.Schedule(warm, pods.Take(1_000).ToList(), new SchedulerOptions { Seed = 1 });

        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var total = Stopwatch.StartNew();
        var snapshot = ClusterSnapshot.From(nodes, []);
        var buildTime = total.Elapsed;
        var scheduleTime = TimeSpan.Zero;
        int bound = 0, preempting = 0, failed = 0;
        string? sampleFailure = null;
        for (var offset = 0; offset < pods.Count; offset += options.Batch)
        {
            var batch = pods.GetRange(offset, Math.Min(options.Batch, pods.Count - offset));
            var started = total.Elapsed;
            var plan = Verge.Scheduler.Scheduler.Schedule(snapshot, batch, new SchedulerOptions
            {
                Seed = options.Seed + offset,
                Strategy = options.Strategy,
            });
            scheduleTime += total.Elapsed - started;
            snapshot.Apply(plan);
            bound += plan.Bindings.Count;
            preempting += plan.Preemptions.Count;
            failed += plan.Failures.Count;
            sampleFailure ??= plan.Failures.Count > 0 ? plan.Failures[0].Message : null;
        }

        total.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var seconds = total.Elapsed.TotalSeconds;
        Console.WriteLine($"  snapshot build      {buildTime.TotalMilliseconds,10:F0} ms");
        Console.WriteLine($"  schedule (library)  {scheduleTime.TotalMilliseconds,10:F0} ms  {options.Pods / scheduleTime.TotalSeconds,10:F0} pods/s");
        Console.WriteLine($"  total with applies  {total.Elapsed.TotalMilliseconds,10:F0} ms  {options.Pods / seconds,10:F0} pods/s");
        Console.WriteLine($"  allocated           {allocated / (1024.0 * 1024.0),10:F1} MiB  ({allocated / options.Pods:N0} bytes/pod)");
        Console.WriteLine($"  bound {bound}, preempting {preempting}, unschedulable {failed}, snapshot pods {snapshot.PodCount}");
        if (sampleFailure is not null)
        {
            Console.WriteLine($"  e.g. {sampleFailure}");
        }

        return 0;
    }

    private static readonly int[] Cores = [4, 8, 16, 32, 64];
    private static readonly int[] MemoryGiB = [8, 16, 32, 64, 128, 256];

    private static Node MakeNode(int i, int sites, Random random)
    {
        var site = i % sites;
        var name = $"node-{i:D5}";
        var cores = Cores[random.Next(Cores.Length)];
        var memory = Math.Max(MemoryGiB[random.Next(MemoryGiB.Length)], cores * 2);
        var allocatable = new Dictionary<string, Quantity>
        {
            ["cpu"] = Quantity.FromUnits(cores),
            ["memory"] = Quantity.Parse($"{memory}Gi"),
            ["ephemeral-storage"] = Quantity.Parse("100Gi"),
            ["pods"] = Quantity.FromUnits(110),
        };
        var taints = new List<Taint>();
        if (random.Next(20) == 0)
        {
            allocatable["verge.dev/gpu"] = Quantity.FromUnits(random.Next(1, 5));
            taints.Add(new Taint { Key = "verge.dev/gpu", Value = "true", Effect = "NoSchedule" });
        }

        if (random.Next(50) == 0)
        {
            taints.Add(new Taint { Key = "verge.dev/maintenance", Effect = "PreferNoSchedule" });
        }

        return new Node
        {
            Metadata = new ObjectMeta
            {
                Name = name,
                Labels = new Dictionary<string, string>
                {
                    ["kubernetes.io/hostname"] = name,
                    [Conventions.SiteLabel] = $"site-{site:D3}",
                    [Conventions.ZoneLabel] = $"zone-{site % 10}",
                    ["verge.dev/tier"] = random.Next(4) == 0 ? "edge-gateway" : "edge",
                },
                Annotations = random.Next(10) == 0
                    ? new Dictionary<string, string> { [Conventions.DevicesAnnotation] = $"cam-{site}-{random.Next(4)},plc-{site}" }
                    : null,
            },
            Spec = new NodeSpec { Taints = taints.Count > 0 ? taints : null, Unschedulable = random.Next(200) == 0 ? true : null },
            Status = new NodeStatus
            {
                Allocatable = allocatable,
                Conditions = [new NodeCondition { Type = "Ready", Status = random.Next(500) == 0 ? "Unknown" : "True" }],
            },
        };
    }

    private static readonly string[] CpuRequests = ["100m", "250m", "500m", "1", "2"];
    private static readonly string[] MemoryRequests = ["128Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi"];

    private static List<Pod> MakePods(int count, int sites, Random random)
    {
        var pods = new List<Pod>(count);
        var app = 0;
        while (pods.Count < count)
        {
            // One "deployment": replicas sharing requests, labels and a spread constraint over sites.
            var replicas = Math.Min(count - pods.Count, random.Next(20, 201));
            var name = $"app-{app++:D5}";
            var cpu = CpuRequests[random.Next(CpuRequests.Length)];
            var memory = MemoryRequests[random.Next(MemoryRequests.Length)];
            var gpu = random.Next(40) == 0;
            var hard = random.Next(2) == 0;
            var site = random.Next(10) == 0 ? $"site-{random.Next(sites):D3}" : null;
            var priority = random.Next(10) == 0 ? 1000 : 0;
            for (var r = 0; r < replicas; r++)
            {
                var requests = new Dictionary<string, Quantity> { ["cpu"] = Quantity.Parse(cpu), ["memory"] = Quantity.Parse(memory) };
                if (gpu)
                {
                    requests["verge.dev/gpu"] = Quantity.FromUnits(1);
                }

                pods.Add(new Pod
                {
                    Metadata = new ObjectMeta
                    {
                        Name = $"{name}-{r:D4}",
                        Namespace = $"ns-{app % 20}",
                        Labels = new Dictionary<string, string> { ["app"] = name, ["pod-template-hash"] = "5d8f7c" },
                        Annotations = site is null ? null : new Dictionary<string, string> { [Conventions.SiteAnnotation] = site },
                    },
                    Spec = new PodSpec
                    {
                        Priority = priority,
                        Containers = [new Container { Name = "main", Image = "registry.local/app:1", Resources = new ResourceRequirements { Requests = requests } }],
                        Tolerations = gpu ? [new Toleration { Key = "verge.dev/gpu", Operator = "Exists", Effect = "NoSchedule" }] : null,
                        TopologySpreadConstraints =
                        [
                            new TopologySpreadConstraint
                            {
                                MaxSkew = 1,
                                TopologyKey = Conventions.SiteLabel,
                                WhenUnsatisfiable = hard ? "DoNotSchedule" : "ScheduleAnyway",
                                LabelSelector = new LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
                            },
                        ],
                    },
                });
            }
        }

        return pods;
    }
}
