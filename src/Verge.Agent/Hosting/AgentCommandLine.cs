using System.CommandLine;

namespace Verge.Agent.Hosting;

/// <summary>
/// The flags of <c>verge agent</c>, defined once and shared by the <c>verge</c> executable and the Native AOT
/// <c>verge-agent</c> build, so both accept exactly the same command line.
/// </summary>
public static class AgentCommandLine
{
    /// <summary>Builds the command; <paramref name="run"/> receives validated options.</summary>
    public static Command Create(string name, Func<AgentOptions, CancellationToken, Task<int>> run) =>
        Configure(new Command(name, Description), run);

    /// <summary>
    /// <c>verge gateway</c>: the same agent with the gateway module on and room for no pods, for a box that only
    /// bridges devices (it joins, keeps its link and local state, and serves its devices offline, like any node).
    /// </summary>
    public static Command CreateGateway(string name, Func<AgentOptions, CancellationToken, Task<int>> run) =>
        Configure(new Command(name, GatewayDescription), run, gatewayOnly: true);

    public const string GatewayDescription = "Run the gateway module alone: the MQTT broker and HTTP ingest for devices, data rules and store-and-forward";

    public const string Description = "Run the edge agent: join the cluster, run this node's workloads, keep them running offline";

    /// <summary>Adds the agent's flags and action to <paramref name="command"/> (a root command for the agent binary).</summary>
    public static Command Configure(Command command, Func<AgentOptions, CancellationToken, Task<int>> run, bool gatewayOnly = false)
    {
        ArgumentNullException.ThrowIfNull(command);
        var servers = new Option<string[]>("--server")
        {
            Description = "The control plane's https://HOST:PORT; repeat for several endpoints, tried in order",
            AllowMultipleArgumentsPerToken = false,
            Arity = ArgumentArity.OneOrMore,
        };
        var token = new Option<string?>("--token") { Description = "Bootstrap token from 'verge token create' (first join only)" };
        var caHash = new Option<string?>("--ca-cert-hash") { Description = "sha256:HEX pin of the cluster CA, when the token does not carry it" };
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "Where the agent keeps its identity, local state, images and logs",
            DefaultValueFactory = _ => new AgentOptions().DataDir,
        };
        var nodeName = new Option<string?>("--name") { Description = "The node name (defaults to the host name)" };
        var labels = new Option<string[]>("--labels") { Description = "Node labels, k=v[,k=v...]; may repeat" };
        var site = new Option<string?>("--site") { Description = "The node's site; becomes the label verge.dev/site" };
        var extended = new Option<string[]>("--extended-resource") { Description = "An extended resource the node offers, NAME=QUANTITY (verge.dev/camera=2); may repeat" };
        var runtime = new Option<string?>("--default-runtime") { Description = "Driver for pods without runtimeClassName: runc, process or docker (default: runc where it works, else process)" };
        var docker = new Option<string?>("--docker-socket") { Description = "Docker Engine socket for runtimeClassName: docker, e.g. unix:///var/run/docker.sock" };
        var podSubnet = new Option<string>("--pod-subnet")
        {
            Description = "IPv4 CIDR of the node-local pod bridge",
            DefaultValueFactory = _ => new AgentOptions().PodSubnet,
        };
        var maxPods = new Option<int>("--max-pods")
        {
            Description = "Pods this node accepts",
            DefaultValueFactory = _ => gatewayOnly ? 0 : new AgentOptions().MaxPods,
        };
        var gateway = new Option<bool>("--gateway") { Description = "Run the gateway module (MQTT broker, HTTP ingest, data rules, store-and-forward)" };
        var mqttListen = new Option<string>("--mqtt-listen")
        {
            Description = "HOST:PORT of the devices' MQTT listener (with --gateway)",
            DefaultValueFactory = _ => new AgentOptions().MqttListen,
        };
        var ingestListen = new Option<string>("--ingest-listen")
        {
            Description = "HOST:PORT of the devices' HTTP ingest (with --gateway); 'off' turns it off",
            DefaultValueFactory = _ => new AgentOptions().IngestListen!,
        };
        var bridge = new Option<string?>("--mqtt-bridge") { Description = "HOST:PORT of an external MQTT broker that upstream messages are also bridged to (with --gateway)" };
        var insecure = new Option<string[]>("--insecure-registry") { Description = "A registry reached over plain HTTP (HOST:PORT); may repeat" };
        var mirrors = new Option<string[]>("--registry-mirror") { Description = "Pull images of REGISTRY from a mirror, REGISTRY=HOST[:PORT] (docker.io=127.0.0.1:5000); may repeat" };

        if (!gatewayOnly)
        {
            command.Options.Add(gateway);
        }

        foreach (var option in new Option[] { servers, token, caHash, dataDir, nodeName, labels, site, extended, runtime, docker, podSubnet, maxPods, insecure, mirrors, mqttListen, ingestListen, bridge })
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) =>
        {
            var options = new AgentOptions
            {
                Servers = [.. (parse.GetValue(servers) ?? []).Select(ParseServer)],
                Token = parse.GetValue(token),
                CaCertHash = parse.GetValue(caHash),
                DataDir = Path.GetFullPath(parse.GetValue(dataDir)!),
                NodeName = parse.GetValue(nodeName) ?? new AgentOptions().NodeName,
                Labels = ParsePairs(parse.GetValue(labels), "--labels", split: true),
                Site = parse.GetValue(site),
                ExtendedResources = ParsePairs(parse.GetValue(extended), "--extended-resource", split: false),
                DefaultRuntime = parse.GetValue(runtime),
                DockerSocket = parse.GetValue(docker),
                PodSubnet = parse.GetValue(podSubnet)!,
                MaxPods = parse.GetValue(maxPods),
                InsecureRegistries = parse.GetValue(insecure) ?? [],
                RegistryMirrors = ParsePairs(parse.GetValue(mirrors), "--registry-mirror", split: false),
                Gateway = gatewayOnly || parse.GetValue(gateway),
                MqttListen = parse.GetValue(mqttListen)!,
                IngestListen = parse.GetValue(ingestListen) is "off" ? null : parse.GetValue(ingestListen),
                MqttBridge = parse.GetValue(bridge),
            };
            options.Validate();
            return run(options, ct);
        });
        return command;
    }

    private static Uri ParseServer(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
            ? uri
            : throw new ArgumentException($"--server must be an https:// URL, got \"{text}\"");

    /// <summary>Parses k=v pairs; with <paramref name="split"/> each value may hold several, comma-separated.</summary>
    internal static Dictionary<string, string> ParsePairs(string[]? values, string flag, bool split)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values ?? [])
        {
            var items = split ? value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [value.Trim()];
            foreach (var item in items)
            {
                var equals = item.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new ArgumentException($"{flag} takes KEY=VALUE, got \"{item}\"");
                }

                var key = item[..equals];
                if (!result.TryAdd(key, item[(equals + 1)..]))
                {
                    throw new ArgumentException($"{flag}: \"{key}\" is given twice");
                }
            }
        }

        return result;
    }
}
