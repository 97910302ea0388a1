using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Verge.Agent.Hosting;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;
using Verge.Cli.Client;
using Verge.Cli.Output;
using Verge.Controllers;

namespace Verge.Cli.Commands;

/// <summary>
/// <c>verge server</c> runs the API server until Ctrl-C or SIGTERM. <c>verge up</c> is the all-in-one quick start:
/// the server and, in the same process, an agent for this machine (node name = host name, data under
/// DATA_DIR/agent, joined with a token the server makes for it; runc as the default runtime when it works here, else
/// process), with a banner once the node is Ready. Both write DATA_DIR/admin.kubeconfig; with the default data dir
/// the client verbs run from the same directory find it without flags.
/// </summary>
internal static class ServerCommand
{
    /// <summary>How long <c>verge up</c> waits for its node to be Ready before it gives up.</summary>
    private static readonly TimeSpan NodeReadyTimeout = TimeSpan.FromSeconds(120);

    /// <summary>How long <c>verge up</c> waits for its agent to stop after Ctrl-C.</summary>
    internal static readonly TimeSpan AgentStopTimeout = TimeSpan.FromSeconds(15);

    public static Command Create(CliContext context, bool up)
    {
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "Where the store, certificates and admin kubeconfig live",
            DefaultValueFactory = _ => ".verge",
        };
        var listen = new Option<string>("--listen")
        {
            Description = "HOST:PORT to serve HTTPS on",
            DefaultValueFactory = _ => "127.0.0.1:6443",
        };
        var store = new Option<string>("--store")
        {
            Description = "The store: sqlite (under the data dir) or sqlite:PATH",
            DefaultValueFactory = _ => "sqlite",
        };
        var mqttListen = new Option<string?>("--mqtt-listen")
        {
            Description = "HOST:PORT of the cloud MQTT endpoint (TLS with the cluster CA; client certificate or API token as password): upstream messages from gateways, commands to devices",
        };
        var command = up
            ? new Command("up", "Run an all-in-one cluster on this machine (the quick start)")
            : new Command("server", "Run the control plane's API server");
        var nodeName = new Option<string?>("--node-name") { Description = "The name of this machine's node (default: the host name)" };
        var runtime = new Option<string?>("--default-runtime")
        {
            Description = "The driver for pods without runtimeClassName: runc or process (default: runc when it works here, else process)",
        };
        command.Options.Add(dataDir);
        command.Options.Add(listen);
        command.Options.Add(store);
        command.Options.Add(mqttListen);
        if (up)
        {
            command.Options.Add(nodeName);
            command.Options.Add(runtime);
        }

        command.SetAction((parse, ct) => Cli.GuardAsync(context, () => RunAsync(
            context, up, parse.GetValue(dataDir)!, parse.GetValue(listen)!, parse.GetValue(store)!, parse.GetValue(mqttListen),
            up ? parse.GetValue(nodeName) : null, up ? parse.GetValue(runtime) : null, ct)));
        return command;
    }

    private static async Task<int> RunAsync(
        CliContext context, bool up, string dataDir, string listen, string store, string? mqttListen, string? nodeName, string? runtime, CancellationToken ct)
    {
        var options = new ApiServerOptions
        {
            DataDir = Path.GetFullPath(dataDir, context.CurrentDirectory),
            Listen = listen,
            Store = store,
            MqttListen = mqttListen,
        };
        await using var host = await ApiServerHost.CreateAsync(options, services => services.AddVergeControllers(), ct);
        await host.StartAsync(ct);
        var kubeconfig = host.AdminKubeconfigPath;
        using var agentStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var agentLoggers = up ? AgentLoggers() : null;
        Task? agent = null;
        if (up)
        {
            var node = nodeName ?? LocalNodeName();
            var agentOptions = await AgentOptionsAsync(context, options.DataDir, kubeconfig, host.Address, node, runtime, ct);
            agent = Task.Run(() => AgentHost.RunAsync(agentOptions, agentLoggers!, context.Time, agentStop.Token), CancellationToken.None);
            await WaitForNodeReadyAsync(context, kubeconfig, node, agent, ct);
            WriteBanner(context, host.Address, kubeconfig, node);
        }
        else
        {
            Terminal.WriteTitle(context, $"Verge API server {VersionInfo.Verge} listening on {host.Address.ToString().TrimEnd('/')}");
            await context.Out.WriteLineAsync($"Admin kubeconfig: {kubeconfig}");
            if (!string.IsNullOrEmpty(mqttListen))
            {
                await context.Out.WriteLineAsync($"Cloud MQTT endpoint (TLS): {mqttListen}");
            }

            await context.Out.WriteLineAsync($"Try: kubectl --kubeconfig {kubeconfig} get nodes");
        }

        await context.Out.FlushAsync(ct);
        context.ServerStarted?.Invoke(host.Address);
        try
        {
            await host.WaitForShutdownAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }

        await context.Out.WriteLineAsync("Shutting down.");
        if (agent is not null)
        {
            await agentStop.CancelAsync();
            await StopAgentAsync(context, agent);
        }

        return 0;
    }

    /// <summary>The host name as a node name: lower case, with anything a DNS-1123 name cannot hold turned into '-'.</summary>
    internal static string LocalNodeName()
    {
        var name = new StringBuilder();
        foreach (var c in System.Net.Dns.GetHostName().ToLowerInvariant())
        {
            name.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' ? c : '-');
        }

        var text = name.ToString().Trim('-', '.');
        return text.Length == 0 ? "verge-node" : text[..Math.Min(text.Length, 253)];
    }

    /// <summary>The options of the in-process agent, with a fresh join token unless it joined before.</summary>
    private static async Task<AgentOptions> AgentOptionsAsync(
        CliContext context, string dataDir, string kubeconfig, Uri server, string node, string? runtime, CancellationToken ct)
    {
        var agentDir = Path.Combine(dataDir, "agent");
        string? token = null;
        using (var session = ClientSession.Open(context, kubeconfig, null))
        {
            // Short-lived: the agent uses it once, now, to get its node certificate.
            var joined = await TokenCommand.CreateTokenAsync(
                session.Client, TokenCommand.Pin(session.Client.Connection), TimeSpan.FromMinutes(10), "verge up: the local agent", context.Time, ct);
            token = joined.ToString();
        }

        var options = new AgentOptions
        {
            Servers = [server],
            Token = token,
            DataDir = agentDir,
            NodeName = node,
            DefaultRuntime = runtime,
        };
        options.Validate();
        return options;
    }

    /// <summary>The agent logs warnings and errors to stderr: the banner and what the user runs stay readable.</summary>
    private static ILoggerFactory AgentLoggers() => LoggerFactory.Create(logging =>
    {
        logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Grpc", LogLevel.Error)
            .AddFilter("System.Net.Http", LogLevel.Error)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
            });
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });

    /// <summary>Polls the node until its Ready condition is True; fails when the agent stops or the time is up.</summary>
    private static async Task WaitForNodeReadyAsync(CliContext context, string kubeconfig, string node, Task agent, CancellationToken ct)
    {
        using var session = ClientSession.Open(context, kubeconfig, null);
        var started = context.Time.GetTimestamp();
        while (true)
        {
            if (agent.IsCompleted)
            {
                await agent;
                throw new CliException($"error: the agent of node \"{node}\" stopped before the node was Ready");
            }

            var obj = await session.Client.TryGetAsync($"/api/v1/nodes/{Uri.EscapeDataString(node)}", ct);
            var ready = (obj?["status"]?["conditions"] as JsonArray ?? [])
                .Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True");
            if (ready)
            {
                return;
            }

            if (context.Time.GetElapsedTime(started) > NodeReadyTimeout)
            {
                throw new CliException($"error: node \"{node}\" did not become Ready within {NodeReadyTimeout.TotalSeconds:0} s (see the agent's log above)");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), context.Time, ct);
        }
    }

    /// <summary>
    /// Waits for the cancelled in-process agent, at most <paramref name="timeout"/> (default <see cref="AgentStopTimeout"/>):
    /// a part of it that does not stop must not keep <c>verge up</c> from returning after Ctrl-C. Its pods keep running
    /// either way, as they do whenever the agent stops.
    /// </summary>
    internal static async Task StopAgentAsync(CliContext context, Task agent, TimeSpan? timeout = null)
    {
        try
        {
            await agent.WaitAsync(timeout ?? AgentStopTimeout, context.Time);
        }
        catch (OperationCanceledException)
        {
        }
        catch (TimeoutException)
        {
            await context.Error.WriteLineAsync($"warning: the agent did not stop within {(timeout ?? AgentStopTimeout).TotalSeconds:0} s; shutting down without it");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            await context.Error.WriteLineAsync($"warning: the agent stopped with an error: {e.Message}");
        }
    }

    private static void WriteBanner(CliContext context, Uri address, string kubeconfig, string node)
    {
        var local = Path.GetFullPath(KubeconfigLocator.LocalKubeconfig, context.CurrentDirectory);
        var found = string.Equals(local, kubeconfig, StringComparison.Ordinal);
        Terminal.WriteTitle(context, $"Verge {VersionInfo.Verge} is up at {address.ToString().TrimEnd('/')}");
        var lines = new List<string>
        {
            $"Node {node} is Ready (an agent in this process, running pods on this machine).",
            $"Admin kubeconfig: {kubeconfig}",
            "",
            found
                ? "From this directory, in another terminal, try:"
                : $"Point the client at the cluster (export KUBECONFIG={kubeconfig} or pass --kubeconfig), then try:",
            "  verge get nodes",
            "  verge apply -f examples/hello-process.yaml",
            "  verge get pods -o wide",
            "  verge logs -f POD                    (POD: the hello-process pod 'verge get pods' lists)",
            "  verge apply -f examples/edge-microservice.yaml",
            $"  kubectl --kubeconfig {kubeconfig} get nodes",
            "",
            "Press Ctrl-C to stop.",
        };
        foreach (var line in lines)
        {
            context.Out.WriteLine(line);
        }
    }
}
