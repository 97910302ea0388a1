using System.Globalization;
using System.Text.Json.Nodes;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// What the agent's end-to-end tests share: a <c>verge server</c> listening on the host side of a network namespace's
/// link, a registry holding the test images (reached by agents through <c>--registry-mirror docker.io=...</c>), and
/// one agent (<see cref="NodeName"/>) running in that namespace, joined with a bootstrap token.
/// </summary>
public sealed class EdgeCluster : IAsyncLifetime
{
    public const string NodeName = "e2e-edge-1";

    private readonly List<string> _agentDirs = [];
    private readonly List<AgentProcess> _agents = [];
    private readonly List<NetworkNamespace> _namespaces = [];
    private string _imagesDir = string.Empty;

    internal ServerProcess Server { get; private set; } = null!;

    internal Kubectl Kubectl { get; private set; } = null!;

    internal EdgeRegistry Registry { get; private set; } = null!;

    internal NetworkNamespace Link { get; private set; } = null!;

    internal AgentProcess Agent { get; private set; } = null!;

    /// <summary>The registry as agents in a namespace reach it.</summary>
    internal string RegistryFromAgents => $"{Link.HostAddress}:{Registry.Port}";

    public async Task InitializeAsync()
    {
        EdgeTools.RequireAll();
        Link = await NetworkNamespace.CreateAsync();
        _namespaces.Add(Link);
        Server = new ServerProcess(listenAddress: Link.HostAddress);
        var serverStart = Server.StartAsync();
        Registry = await EdgeRegistry.StartAsync();
        _imagesDir = EdgeTools.TempDir("verge-e2e-images");
        await EdgeImages.PushAllAsync(Registry, _imagesDir);
        await serverStart;
        Kubectl = new Kubectl(Server);
        Agent = await StartAgentAsync(NodeName, Link, "10.214.0.0/24");
    }

    /// <summary>A fresh namespace on its own link to the host, removed with the cluster (or earlier by the caller).</summary>
    internal async Task<NetworkNamespace> CreateNamespaceAsync()
    {
        var netns = await NetworkNamespace.CreateAsync();
        _namespaces.Add(netns);
        return netns;
    }

    /// <summary>Creates a token, starts an agent joined with it in <paramref name="netns"/>, waits until it is in sync.</summary>
    internal async Task<AgentProcess> StartAgentAsync(string nodeName, NetworkNamespace netns, string podSubnet)
    {
        var token = await CreateTokenAsync("24h");
        var dataDir = NewAgentDir();
        var agent = Track(AgentProcess.Start(dataDir, AgentArgs(nodeName, token, podSubnet), netns));
        await agent.WaitForLineAsync($"Agent {nodeName} is in sync", TimeSpan.FromSeconds(90));
        return agent;
    }

    /// <summary>The flags of an agent of this cluster (besides --data-dir).</summary>
    internal IReadOnlyList<string> AgentArgs(string nodeName, string? token, string podSubnet)
    {
        var args = new List<string>
        {
            "--server", Server.Url, "--name", nodeName, "--site", "e2e",
            "--registry-mirror", $"docker.io={RegistryFromAgents}", "--insecure-registry", RegistryFromAgents,
            "--pod-subnet", podSubnet,
        };
        if (token is not null)
        {
            args.AddRange(["--token", token]);
        }

        return args;
    }

    internal string NewAgentDir()
    {
        var dir = EdgeTools.TempDir("verge-e2e-agent");
        _agentDirs.Add(dir);
        return dir;
    }

    internal AgentProcess Track(AgentProcess agent)
    {
        _agents.Add(agent);
        return agent;
    }

    /// <summary><c>verge token create --ttl TTL</c>: the one-line join string.</summary>
    internal async Task<string> CreateTokenAsync(string ttl)
    {
        var start = Verge.StartInfo("token", "create", "--ttl", ttl, "--kubeconfig", Server.Kubeconfig);
        var result = await EdgeTools.ExecAsync(start.FileName, start.ArgumentList);
        Assert.True(result.ExitCode == 0, $"verge token create failed: {result.Stderr}{result.Stdout}");
        return result.Stdout.Trim();
    }

    /// <summary>kubectl get pod NAME -o json, or null when it does not exist.</summary>
    internal async Task<JsonNode?> PodAsync(string name)
    {
        var result = await Kubectl.RunAsync("get", "pod", name, "-o", "json");
        return result.ExitCode == 0 ? JsonNode.Parse(result.Stdout) : null;
    }

    internal async Task<JsonArray> PodsAsync(string selector)
    {
        var json = await Kubectl.OkAsync("get", "pods", "-l", selector, "-o", "json");
        return JsonNode.Parse(json)!["items"]!.AsArray();
    }

    /// <summary>The events about one object, as "reason: message" lines.</summary>
    internal async Task<string> EventsAsync(string name)
    {
        var json = await Kubectl.OkAsync("get", "events", "--field-selector", $"involvedObject.name={name}", "-o", "json");
        return string.Join('\n', JsonNode.Parse(json)!["items"]!.AsArray()
            .Select(e => $"{e!["reason"]}: {e["message"]}"));
    }

    /// <summary>Sum of verge_node_channel_bytes_total (both directions) for one node, from the server's /metrics.</summary>
    internal async Task<long> ChannelBytesAsync(string nodeName)
    {
        var metrics = await Kubectl.OkAsync("get", "--raw", "/metrics");
        long total = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("verge_node_channel_bytes_total{", StringComparison.Ordinal)
                && line.Contains($"node=\"{nodeName}\"", StringComparison.Ordinal))
            {
                total += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    /// <summary>Applies a manifest given as text.</summary>
    internal async Task ApplyAsync(string yaml)
    {
        var result = await Kubectl.RunWithInputAsync(yaml, "apply", "-f", "-");
        Assert.True(result.ExitCode == 0, $"kubectl apply failed: {result}");
    }

    /// <summary>Deletes pods at once (no grace), so the next test starts from a quiet node.</summary>
    internal async Task DeletePodsAsync(params string[] names)
    {
        var args = new List<string> { "delete", "pod", "--ignore-not-found", "--grace-period=0", "--force", "--wait=false" };
        args.AddRange(names);
        await Kubectl.RunAsync([.. args]);
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        foreach (var dir in _agentDirs)
        {
            await AgentProcess.CleanUpAsync(dir);
        }

        foreach (var netns in _namespaces)
        {
            await netns.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
            Server.DeleteData();
        }

        if (Registry is not null)
        {
            await Registry.DisposeAsync();
        }

        EdgeTools.DeleteDir(_imagesDir);
        if (Kubectl is not null)
        {
            EdgeTools.DeleteDir(Kubectl.CacheDir);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EdgeClusterGroup : ICollectionFixture<EdgeCluster>
{
    public const string Name = "edge cluster";
}
