using System.CommandLine;
using System.Text.RegularExpressions;
using Verge.Cli.Simulation;
using Verge.Core.Coordination;
using Verge.Core.Quantities;

namespace Verge.Cli.Commands;

/// <summary><c>verge sim nodes</c>: simulated (hollow) nodes that register, renew their leases and run the pods bound to them.</summary>
internal static partial class SimCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("sim", "Simulate cluster members for tests and benchmarks");
        command.Subcommands.Add(CreateNodes(context));
        command.SetAction(parse => new System.CommandLine.Help.HelpAction().Invoke(parse));
        return command;
    }

    private static Command CreateNodes(CliContext context)
    {
        var count = new Option<int>("--count") { Description = "How many nodes to simulate", Required = true };
        var sites = new Option<int>("--sites") { Description = "Spread the nodes over this many sites (verge.dev/site: site-<i mod S>)", DefaultValueFactory = _ => 1 };
        var prefix = new Option<string>("--name-prefix") { Description = "Node names are <prefix>-0001, <prefix>-0002, ...", DefaultValueFactory = _ => "hollow" };
        var renew = new Option<string>("--renew-interval")
        {
            Description = "How often each node renews its lease (e.g. 1s, 500ms); by default 1s up to 3400 nodes, then ceil(count / 3400) seconds, with leases of three intervals (at least 4s)",
        };
        var cpu = new Option<string>("--cpu") { Description = "CPU capacity of each node", DefaultValueFactory = _ => "4" };
        var memory = new Option<string>("--memory") { Description = "Memory capacity of each node", DefaultValueFactory = _ => "8Gi" };
        var pods = new Option<int>("--pods") { Description = "Pod capacity of each node", DefaultValueFactory = _ => 110 };
        var options = new ClientOptions();
        var command = new Command("nodes", "Register simulated nodes, renew their leases and mark pods bound to them Running, until Ctrl-C");
        foreach (var option in new Option[] { count, sites, prefix, renew, cpu, memory, pods })
        {
            command.Options.Add(option);
        }

        options.AddTo(command, withNamespace: false);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, async () =>
        {
            var simulation = new HollowNodeOptions
            {
                Count = parse.GetValue(count),
                Sites = parse.GetValue(sites),
                Prefix = parse.GetValue(prefix) ?? "hollow",
                LeaseTimings = parse.GetValue(renew) is { } text ? LeaseTimings(text, parse.GetValue(count)) : null,
                Cpu = CheckQuantity("--cpu", parse.GetValue(cpu)),
                Memory = CheckQuantity("--memory", parse.GetValue(memory)),
                Pods = parse.GetValue(pods),
            };
            Validate(simulation);
            using var session = options.Open(context, parse);
            using var simulator = new HollowNodeSimulator(session.Client, simulation, context.Time, context.Out, context.Error);
            try
            {
                await simulator.RunAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }

            await context.Out.WriteLineAsync($"stopped: {simulation.Count} nodes left as they are; their leases are no longer renewed");
            return 0;
        }));
        return command;
    }

    /// <summary>A renew interval given on the command line, with the lease <see cref="NodeHeartbeat.ForInterval"/> gives it (at least the fleet default).</summary>
    private static NodeHeartbeat LeaseTimings(string text, int count)
    {
        if (!DurationText.TryParse(text, out var interval) || interval <= TimeSpan.Zero || interval > NodeHeartbeat.MaxRenewInterval)
        {
            throw new CliException($"error: invalid --renew-interval \"{text}\": want a duration such as 1s or 500ms, at most {NodeHeartbeat.MaxRenewInterval.TotalSeconds:0}s (the lease lasts three intervals, at most {NodeHeartbeat.MaxLeaseDuration.TotalSeconds:0}s)");
        }

        var lease = NodeHeartbeat.ForFleet(count).LeaseDuration;
        var own = NodeHeartbeat.ForInterval(interval);
        return own.LeaseDuration >= lease ? own : new NodeHeartbeat(interval, lease);
    }

    private static void Validate(HollowNodeOptions options)
    {
        if (options.Count < 1)
        {
            throw new CliException($"error: invalid --count {options.Count}: want at least 1");
        }

        if (options.Sites < 1)
        {
            throw new CliException($"error: invalid --sites {options.Sites}: want at least 1");
        }

        if (options.Pods < 1)
        {
            throw new CliException($"error: invalid --pods {options.Pods}: want at least 1");
        }

        if (!NamePrefix().IsMatch(options.Prefix) || options.Prefix.Length > 200)
        {
            throw new CliException($"error: invalid --name-prefix \"{options.Prefix}\": want lower-case letters, digits and '-', starting and ending with a letter or digit");
        }
    }

    private static string CheckQuantity(string flag, string? text) =>
        Quantity.TryParse(text, out _, out var error)
            ? text!
            : throw new CliException($"error: invalid {flag} \"{text}\": {error}");

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex NamePrefix();
}
