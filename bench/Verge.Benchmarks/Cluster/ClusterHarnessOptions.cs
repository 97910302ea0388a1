using System.Globalization;

namespace Verge.Benchmarks.Cluster;

/// <summary>Settings of the end-to-end cluster harness; every count and wait is bounded so a run always ends.</summary>
internal sealed class ClusterHarnessOptions
{
    public int Nodes { get; private set; } = 1000;

    public int Pods { get; private set; } = 10_000;

    public int Sites { get; private set; } = 10;

    /// <summary>"deployments" (Deployments of <see cref="Replicas"/> spread over verge.dev/site) or "pods" (bare pods from <see cref="Clients"/> clients).</summary>
    public string Workload { get; private set; } = "deployments";

    public int Replicas { get; private set; } = 100;

    public int Clients { get; private set; } = 32;

    public string WhenUnsatisfiable { get; private set; } = "DoNotSchedule";

    /// <summary>Nodes of the failover phase (half under prefix a, half under b); 0 skips it.</summary>
    public int FailoverNodes { get; private set; } = -1;

    public int FailoverReplicas { get; private set; } = 20;

    /// <summary>Which parts to run: throughput, failover.</summary>
    public HashSet<string> Phases { get; } = ["throughput", "failover"];

    public string? VergeDll { get; private set; }

    /// <summary>Whether the API server's flow control is on (it is by default; off is for comparison).</summary>
    public bool FlowControl { get; private set; } = true;

    public TimeSpan MaxDuration { get; private set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How often the throughput phase's nodes renew their leases; null leaves it to the simulator, which picks the
    /// fleet default for its count. A longer interval shows what the heartbeats cost the pod pipeline.
    /// </summary>
    public TimeSpan? RenewInterval { get; private set; }

    public int EffectiveFailoverNodes => FailoverNodes >= 0 ? FailoverNodes : Nodes;

    public static ClusterHarnessOptions Parse(string[] args)
    {
        var o = new ClusterHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--nodes": o.Nodes = Positive(name, value); break;
                case "--pods": o.Pods = Positive(name, value); break;
                case "--sites": o.Sites = Positive(name, value); break;
                case "--replicas": o.Replicas = Positive(name, value); break;
                case "--clients": o.Clients = Positive(name, value); break;
                case "--failover-nodes": o.FailoverNodes = Positive(name, value); break;
                case "--failover-replicas": o.FailoverReplicas = Positive(name, value); break;
                case "--max-minutes": o.MaxDuration = TimeSpan.FromMinutes(Positive(name, value)); break;
                case "--verge": o.VergeDll = value; break;
                case "--renew-interval": o.RenewInterval = Interval(name, value); break;
                case "--flow-control":
                    o.FlowControl = value is "on" or "off" ? value == "on" : throw new ArgumentException("--flow-control takes on or off");
                    break;
                case "--workload":
                    o.Workload = value is "deployments" or "pods" ? value : throw new ArgumentException("--workload takes deployments or pods");
                    break;
                case "--when-unsatisfiable":
                    o.WhenUnsatisfiable = value is "DoNotSchedule" or "ScheduleAnyway" ? value : throw new ArgumentException("--when-unsatisfiable takes DoNotSchedule or ScheduleAnyway");
                    break;
                case "--phases":
                    o.Phases.Clear();
                    foreach (var phase in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        o.Phases.Add(phase is "throughput" or "failover" ? phase : throw new ArgumentException($"--phases takes throughput and failover, got \"{phase}\""));
                    }

                    break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        if (o.EffectiveFailoverNodes < 2 && o.Phases.Contains("failover"))
        {
            throw new ArgumentException("the failover phase needs at least 2 nodes");
        }

        return o;
    }

    /// <summary>Whole seconds or milliseconds ("10s", "500ms"), at most the simulator's longest renew interval.</summary>
    private static TimeSpan Interval(string name, string value)
    {
        var (digits, unit) = value.EndsWith("ms", StringComparison.Ordinal) ? (value[..^2], 1)
            : value.EndsWith('s') ? (value[..^1], 1000)
            : (string.Empty, 0);
        if (unit == 0 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1
            || TimeSpan.FromMilliseconds((double)n * unit) > Verge.Core.Coordination.NodeHeartbeat.MaxRenewInterval)
        {
            throw new ArgumentException($"{name} takes a duration such as 10s or 500ms, at most {Verge.Core.Coordination.NodeHeartbeat.MaxRenewInterval.TotalSeconds:0}s; got \"{value}\"");
        }

        return TimeSpan.FromMilliseconds((double)n * unit);
    }

    private static int Positive(string name, string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            throw new ArgumentException($"{name} takes a positive integer, got \"{value}\"");
        }

        return n;
    }
}
