using System.Globalization;

namespace Verge.Benchmarks.Api;

/// <summary>Settings of the whole-system harness; every count and wait is bounded so a run always ends.</summary>
internal sealed class ApiHarnessOptions
{
    public int Creates { get; private set; } = 10_000;

    public int Clients { get; private set; } = 32;

    public int ListPods { get; private set; } = 100_000;

    public int ListPasses { get; private set; } = 3;

    public int Watchers { get; private set; } = 10_000;

    public int WatchRounds { get; private set; } = 5;

    /// <summary>HTTP/2 connections the watch streams share; 0 means one per 1000 watchers (the server's stream limit).</summary>
    public int WatchConnections { get; private set; }

    /// <summary>Which parts to run: create, list, watch.</summary>
    public HashSet<string> Phases { get; } = ["create", "list", "watch"];

    /// <summary>The whole run is cancelled after this long.</summary>
    public TimeSpan MaxDuration { get; private set; } = TimeSpan.FromMinutes(20);

    public int EffectiveWatchConnections => WatchConnections > 0 ? WatchConnections : Math.Max(1, (Watchers + 999) / 1000);

    public static ApiHarnessOptions Parse(string[] args)
    {
        var options = new ApiHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--creates": options.Creates = Positive(name, value, allowZero: true); break;
                case "--clients": options.Clients = Positive(name, value); break;
                case "--list-pods": options.ListPods = Positive(name, value, allowZero: true); break;
                case "--list-passes": options.ListPasses = Positive(name, value); break;
                case "--watchers": options.Watchers = Positive(name, value); break;
                case "--watch-rounds": options.WatchRounds = Positive(name, value); break;
                case "--watch-connections": options.WatchConnections = Positive(name, value); break;
                case "--max-minutes": options.MaxDuration = TimeSpan.FromMinutes(Positive(name, value)); break;
                case "--phases":
                    options.Phases.Clear();
                    foreach (var phase in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (phase is not ("create" or "list" or "watch"))
                        {
                            throw new ArgumentException($"--phases takes create, list and watch, got \"{phase}\"");
                        }

                        options.Phases.Add(phase);
                    }

                    break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        return options;
    }

    private static int Positive(string name, string value, bool allowZero = false)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < (allowZero ? 0 : 1))
        {
            throw new ArgumentException($"{name} takes a {(allowZero ? "non-negative" : "positive")} integer, got \"{value}\"");
        }

        return n;
    }
}
