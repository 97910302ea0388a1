using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Channel;
using Verge.Agent.Identity;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;
using Verge.ApiServer.Security;
using Verge.Core.Core;
using Verge.Core.Quantities;

namespace Verge.Agent.Tests.Channel;

/// <summary>A real control plane on a free loopback port, an admin HTTP client for it, and node identities from its CA.</summary>
internal sealed class ChannelHarness : IAsyncDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("verge-channel-").FullName;
    private readonly List<IDisposable> _disposables = [];
    private ApiServerOptions _options = null!;
    private X509Certificate2 _adminCertificate = null!;

    private ChannelHarness()
    {
    }

    public ApiServerHost Host { get; private set; } = null!;

    public HttpClient Admin { get; private set; } = null!;

    public CertificateAuthority Ca => Host.Services.GetRequiredService<CertificateAuthority>();

    public static async Task<ChannelHarness> StartAsync(Action<ApiServerOptions>? configure = null)
    {
        var harness = new ChannelHarness();
        for (var attempt = 1; ; attempt++)
        {
            // A fixed port (not 0), so that RestartAsync comes back on the same address.
            var options = new ApiServerOptions { DataDir = harness._dataDir, Listen = "127.0.0.1:" + FreePort() };
            configure?.Invoke(options);
            harness._options = options;
            harness.Host = await ApiServerHost.CreateAsync(options);
            try
            {
                await harness.Host.StartAsync();
                break;
            }
            catch (IOException e) when (e.InnerException?.GetType().Name == "AddressInUseException" && attempt < 5)
            {
                // Another test bound the port between FreePort and this bind: take another.
                await harness.Host.DisposeAsync();
            }
        }
        var (cert, key) = harness.Ca.IssueClient("test-admin", [UserInfo.MastersGroup], TimeSpan.FromHours(1));
        harness._adminCertificate = X509Certificate2.CreateFromPem(cert, key);
        harness.Admin = harness.Client(harness._adminCertificate);
        return harness;
    }

    /// <summary>Stops the server and starts it again on the same data dir and port.</summary>
    public async Task RestartAsync(Func<Task>? whileDown = null)
    {
        await Host.DisposeAsync();
        if (whileDown is not null)
        {
            await whileDown();
        }

        Host = await ApiServerHost.CreateAsync(_options);
        await Host.StartAsync();
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The server's own certificate, as it sends it in a full TLS handshake.</summary>
    public X509Certificate2 ServingCertificate() => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_dataDir, "pki", "server.crt")));

    /// <summary>The server's certificate with its key, for a fake server the agent trusts as it trusts this one.</summary>
    public X509Certificate2 ServingCertificateWithKey() =>
        X509Certificate2.CreateFromPemFile(Path.Combine(_dataDir, "pki", "server.crt"), Path.Combine(_dataDir, "pki", "server.key"));

    public NodeIdentity Identity(string node, string? helloAs = null)
    {
        var (cert, key) = Ca.IssueClient(NodeIdentity.UserName(node), [NodeIdentity.NodesGroup], TimeSpan.FromHours(1));
        return new NodeIdentity(helloAs ?? node, X509Certificate2.CreateFromPem(cert, key), X509Certificate2.CreateFromPem(Ca.CertificatePem));
    }

    public NodeChannelClient NewClient(
        NodeIdentity identity,
        IDesiredState state,
        ILogSource? logs = null,
        Func<Node>? report = null,
        IReadOnlyList<Uri>? servers = null,
        Verge.Agent.Images.IImageStore? images = null,
        Verge.Agent.Pods.IContainerExec? exec = null) =>
        new(
            new NodeChannelClientOptions
            {
                Servers = servers ?? [Host.Address],
                InitialBackoff = TimeSpan.FromMilliseconds(50),
                MaxBackoff = TimeSpan.FromMilliseconds(500),
                StatusFlushInterval = TimeSpan.FromMilliseconds(50),
                ReportCheckInterval = TimeSpan.FromMilliseconds(100),
            },
            identity,
            state,
            report ?? (() => NodeReport(identity.NodeName)),
            logs ?? new FakeLogSource(),
            NullLoggerFactory.Instance,
            TimeProvider.System)
        {
            Images = images,
            Exec = exec,
        };

    public static Node NodeReport(string name, string role = "edge") => new()
    {
        Metadata = new() { Name = name, Labels = new() { ["verge.dev/role"] = role } },
        Status = new NodeStatus
        {
            Capacity = new() { ["cpu"] = Quantity.Parse("2"), ["memory"] = Quantity.Parse("4Gi"), ["pods"] = Quantity.Parse("110") },
            Allocatable = new() { ["cpu"] = Quantity.Parse("2"), ["memory"] = Quantity.Parse("4Gi"), ["pods"] = Quantity.Parse("110") },
            Addresses = [new NodeAddress { Type = "InternalIP", Address = "10.0.0.1" }],
            Conditions = [new NodeCondition { Type = "Ready", Status = "True", Reason = "AgentReady" }],
        },
    };

    /// <summary>
    /// Opens a WebSocket to <paramref name="pathAndQuery"/> as the admin, offering <paramref name="protocols"/> (kubectl
    /// exec's stream protocols by default).
    /// </summary>
    public async Task<System.Net.WebSockets.ClientWebSocket> WebSocketAsync(string pathAndQuery, params string[] protocols)
    {
        var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.ClientCertificates = [_adminCertificate];
        socket.Options.RemoteCertificateValidationCallback = ServerValidation();
        foreach (var protocol in protocols.Length == 0 ? ["v5.channel.k8s.io", "v4.channel.k8s.io"] : protocols)
        {
            socket.Options.AddSubProtocol(protocol);
        }

        var address = new UriBuilder(Host.Address) { Scheme = "wss" }.Uri;
        await socket.ConnectAsync(new Uri(address, pathAndQuery), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return socket;
    }

    /// <summary>Another admin client, on connections of its own, its handler set up by <paramref name="configure"/>.</summary>
    public HttpClient AdminClient(Action<SocketsHttpHandler> configure) => Client(_adminCertificate, configure);

    public HttpClient Client(X509Certificate2 certificate, Action<SocketsHttpHandler>? configure = null)
    {
        var handler = new SocketsHttpHandler();
        configure?.Invoke(handler);
        handler.SslOptions.RemoteCertificateValidationCallback = ServerValidation();
        handler.SslOptions.ClientCertificates = [certificate];
        var client = new HttpClient(handler) { BaseAddress = Host.Address };
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _disposables.Add(client);
        return client;
    }

    /// <summary>Trusts a server certificate that chains to the cluster CA, and nothing else.</summary>
    private System.Net.Security.RemoteCertificateValidationCallback ServerValidation()
    {
        var ca = X509Certificate2.CreateFromPem(Ca.CertificatePem);
        return (_, serverCert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return serverCert is X509Certificate2 c && chain.Build(c);
        };
    }

    public async Task<JsonObject> CreateAsync(string path, string json)
    {
        using var response = await Admin.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public async Task<JsonObject> PatchAsync(string path, string patch, string contentType = "application/merge-patch+json")
    {
        using var response = await Admin.PatchAsync(path, new StringContent(patch, Encoding.UTF8, contentType));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"PATCH {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public async Task DeleteAsync(string path)
    {
        using var response = await Admin.DeleteAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"DELETE {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task<JsonObject?> GetAsync(string path)
    {
        using var response = await Admin.GetAsync(path);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public Task<JsonObject> CreatePodAsync(string name, string? node, string? configMap = null, string? secret = null, params string[] containers)
    {
        var volumes = new JsonArray();
        if (configMap is not null)
        {
            volumes.Add(new JsonObject { ["name"] = "config", ["configMap"] = new JsonObject { ["name"] = configMap } });
        }

        var names = containers.Length == 0 ? ["main"] : containers;
        var list = new JsonArray();
        foreach (var container in names)
        {
            var c = new JsonObject { ["name"] = container, ["image"] = "busybox" };
            if (secret is not null)
            {
                c["env"] = new JsonArray(new JsonObject
                {
                    ["name"] = "TOKEN",
                    ["valueFrom"] = new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = secret, ["key"] = "token" } },
                });
            }

            list.Add(c);
        }

        var spec = new JsonObject { ["containers"] = list, ["volumes"] = volumes };
        if (node is not null)
        {
            spec["nodeName"] = node;
        }

        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = spec,
        };
        return CreateAsync("/api/v1/namespaces/default/pods", pod.ToJsonString());
    }

    public Task<JsonObject> CreateConfigMapAsync(string name, string value) =>
        CreateAsync("/api/v1/namespaces/default/configmaps", $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}"},"data":{"value":"{{{value}}}"}}""");

    public Task<JsonObject> CreateSecretAsync(string name) =>
        CreateAsync("/api/v1/namespaces/default/secrets", $$$"""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"{{{name}}}"},"stringData":{"token":"t0ps3cret"}}""");

    /// <summary>Polls <paramref name="condition"/> until it holds, failing with <paramref name="what"/> after a deadline.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(20);
        }
    }

    public static Task EventuallyAsync(Func<bool> condition, string what, int seconds = 20) =>
        EventuallyAsync(() => Task.FromResult(condition()), what, seconds);

    public async ValueTask DisposeAsync()
    {
        foreach (var d in _disposables)
        {
            d.Dispose();
        }

        await Host.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A running client: cancelled and awaited on dispose.</summary>
internal sealed class RunningClient : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public RunningClient(NodeChannelClient client)
    {
        Client = client;
        _run = Task.Run(() => client.RunAsync(_stop.Token));
    }

    public NodeChannelClient Client { get; }

    public async Task SyncedAsync() => await Client.FirstSync.WaitAsync(TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(30));
        _stop.Dispose();
    }
}

/// <summary>The agent's desired state in memory, counting what it was asked to apply.</summary>
internal sealed class InMemoryDesiredState : IDesiredState
{
    private readonly Lock _lock = new();
    private readonly Dictionary<DesiredKey, DesiredChange> _objects = [];

    public long LastRevision { get; private set; }

    public List<DesiredBatch> Batches { get; } = [];

    public IReadOnlyCollection<DesiredKey> HeldKeys()
    {
        lock (_lock)
        {
            return [.. _objects.Keys];
        }
    }

    public Dictionary<DesiredKey, DesiredChange> Objects()
    {
        lock (_lock)
        {
            return new(_objects);
        }
    }

    /// <summary>Drops an object as if local state had lost it (the server's view and the agent's then differ).</summary>
    public void Forget(DesiredKind kind, string name)
    {
        lock (_lock)
        {
            _objects.Remove(new DesiredKey(kind, "default", name));
        }
    }

    public bool Holds(DesiredKind kind, string name)
    {
        lock (_lock)
        {
            return _objects.ContainsKey(new DesiredKey(kind, "default", name));
        }
    }

    public JsonObject Object(DesiredKind kind, string name)
    {
        lock (_lock)
        {
            return JsonNode.Parse(_objects[new DesiredKey(kind, "default", name)].Json)!.AsObject();
        }
    }

    public int ChangesApplied
    {
        get
        {
            lock (_lock)
            {
                return Batches.Sum(b => b.Changes.Count);
            }
        }
    }

    public Task ApplyAsync(DesiredBatch batch, CancellationToken ct)
    {
        lock (_lock)
        {
            Batches.Add(batch);
            if (batch.Snapshot)
            {
                _objects.Clear();
            }

            foreach (var change in batch.Changes)
            {
                if (change.Deleted)
                {
                    _objects.Remove(change.Key);
                }
                else
                {
                    _objects[change.Key] = change;
                }
            }

            LastRevision = batch.Revision;
        }

        return Task.CompletedTask;
    }
}

/// <summary>Serves logs from memory; a follow keeps the stream open until cancelled, and records the cancellation.</summary>
internal sealed class FakeLogSource : ILogSource
{
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Text { get; init; } = "line 1\nline 2\n";

    /// <summary>Pods whose logs throw <see cref="LogNotFoundException"/> with this message.</summary>
    public string? NotFound { get; init; }

    public List<LogQuery> Queries { get; } = [];

    public Task Cancelled => _cancelled.Task;

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(LogQuery query, [EnumeratorCancellation] CancellationToken ct)
    {
        lock (Queries)
        {
            Queries.Add(query);
        }

        if (NotFound is not null)
        {
            throw new LogNotFoundException(NotFound);
        }

        await Task.Yield();
        yield return Encoding.UTF8.GetBytes(Text);
        if (query.Follow)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                _cancelled.TrySetResult();
            }
        }
    }
}
