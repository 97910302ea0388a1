using System.Globalization;

namespace Verge.Benchmarks.Agent;

/// <summary>Settings of the agent harness; every wait is bounded so a run always ends.</summary>
internal sealed class AgentHarnessOptions
{
    /// <summary>Which agent builds to measure: aot (the published verge-agent binary), jit (verge.dll agent).</summary>
    public List<string> Builds { get; } = [];

    /// <summary>Pods held running for the resident-memory figure.</summary>
    public int Pods { get; private set; } = 10;

    /// <summary>Pods created one after another for apply-to-Running latency.</summary>
    public int LatencyPods { get; private set; } = 50;

    /// <summary>The idle window for CPU and channel bytes.</summary>
    public TimeSpan Idle { get; private set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the server is down for the resync-after-restart figure.</summary>
    public TimeSpan Partition { get; private set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the link between agent and server is down (server up) for the resync-after-partition figure.</summary>
    public TimeSpan LinkDown { get; private set; } = TimeSpan.FromSeconds(60);

    public string? VergeDll { get; private set; }

    public string? AgentBinary { get; private set; }

    /// <summary>Environment variables for the agent process only (GC settings to compare, e.g. DOTNET_GCgen0size).</summary>
    public Dictionary<string, string> AgentEnvironment { get; } = new(StringComparer.Ordinal);

    public TimeSpan MaxDuration { get; private set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Where to write the agent's /proc/PID/smaps at each memory reading (and a heap dump with dotnet-gcdump for the JIT
    /// build, when that tool is installed); null: none.
    /// </summary>
    public string? DumpDir { get; private set; }

    public static AgentHarnessOptions Parse(string[] args)
    {
        var o = new AgentHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--pods": o.Pods = Positive(name, value); break;
                case "--latency-pods": o.LatencyPods = Positive(name, value); break;
                case "--idle-seconds": o.Idle = TimeSpan.FromSeconds(Positive(name, value)); break;
                case "--partition-seconds": o.Partition = TimeSpan.FromSeconds(Positive(name, value)); break;
                case "--link-down-seconds": o.LinkDown = TimeSpan.FromSeconds(Positive(name, value)); break;
                case "--max-minutes": o.MaxDuration = TimeSpan.FromMinutes(Positive(name, value)); break;
                case "--verge": o.VergeDll = value; break;
                case "--agent": o.AgentBinary = value; break;
                case "--dump-dir": o.DumpDir = value; break;
                case "--agent-env":
                    var equals = value.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        throw new ArgumentException($"--agent-env takes NAME=VALUE, got \"{value}\"");
                    }

                    o.AgentEnvironment[value[..equals]] = value[(equals + 1)..];
                    break;
                case "--builds":
                    foreach (var build in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        o.Builds.Add(build is "aot" or "jit" ? build : throw new ArgumentException("--builds takes aot, jit or aot,jit"));
                    }

                    break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        if (o.Builds.Count == 0)
        {
            o.Builds.AddRange(["aot", "jit"]);
        }

        return o;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} takes a positive integer, got \"{value}\"");
}
