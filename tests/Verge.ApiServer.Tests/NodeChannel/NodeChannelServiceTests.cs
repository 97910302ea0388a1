using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Verge.ApiServer.Security;
using Verge.Core.Edge;
using Verge.Core.Serialization;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.Tests.NodeChannel;

/// <summary>A control plane whose node channel splits batches after 10 changes, so tests can see the split.</summary>
public sealed class SmallBatchServerFixture : ApiServerFixture
{
    protected override void Configure(ApiServerOptions options) => options.NodeChannel.MaxBatchChanges = 10;
}

/// <summary>The server end of the node channel, spoken to by a raw gRPC client.</summary>
public sealed class NodeChannelServiceTests(SmallBatchServerFixture server) : IClassFixture<SmallBatchServerFixture>
{
    private CertificateAuthority Ca => (CertificateAuthority)server.Host.Services.GetService(typeof(CertificateAuthority))!;

    [Fact]
    public async Task Connect_WithANodeCertificateSayingHelloAsAnotherNode_IsPermissionDenied()
    {
        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "a1"), Ca.Certificate);
        var error = await channel.RefusedAsync(new AgentMessage { Hello = new Hello { NodeName = "b1" } });

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("\"a1\" may not open the channel of node \"b1\"", error.Status.Detail);
    }

    [Fact]
    public async Task Connect_WithACertificateFromAnotherCa_IsUnauthenticated()
    {
        var otherDir = Directory.CreateTempSubdirectory("verge-other-ca-").FullName;
        try
        {
            using var other = CertificateAuthority.LoadOrCreate(otherDir, TimeProvider.System);
            await using var channel = RawChannel.Open(server.Address, NodeCertificate(other, "n1"), Ca.Certificate);
            var error = await channel.RefusedAsync(new AgentMessage { Hello = new Hello { NodeName = "n1" } });

            Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
            Assert.Contains("not issued by the cluster CA", error.Status.Detail);
        }
        finally
        {
            Directory.Delete(otherDir, recursive: true);
        }
    }

    [Fact]
    public async Task Connect_WithACertificateThatIsNotANodes_IsPermissionDenied()
    {
        var (cert, key) = Ca.IssueClient("system:node:n1", ["developers"], TimeSpan.FromHours(1));
        await using var channel = RawChannel.Open(server.Address, X509Certificate2.CreateFromPem(cert, key), Ca.Certificate);
        var error = await channel.RefusedAsync(new AgentMessage { Hello = new Hello { NodeName = "n1" } });

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task Connect_StartingWithSomethingElseThanHello_IsInvalidArgument()
    {
        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "n1"), Ca.Certificate);
        var error = await channel.RefusedAsync(new AgentMessage { Heartbeat = new Heartbeat() });

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Connect_AgainForTheSameNode_ReplacesTheOlderSession()
    {
        await using var first = RawChannel.Open(server.Address, NodeCertificate(Ca, "twice"), Ca.Certificate);
        await first.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "twice" } });
        Assert.Equal(ServerMessage.BodyOneofCase.Welcome, (await first.NextAsync()).BodyCase);
        Assert.True((await first.NextAsync()).Sync.Complete);

        await using var second = RawChannel.Open(server.Address, NodeCertificate(Ca, "twice"), Ca.Certificate);
        await second.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "twice" } });
        Assert.Equal(ServerMessage.BodyOneofCase.Welcome, (await second.NextAsync()).BodyCase);

        Assert.Null(await first.NextOrEndAsync());
    }

    [Fact]
    public async Task CatchUp_LargerThanABatch_IsSplit_AndOnlyTheLastBatchAdvancesTheRevision()
    {
        using var admin = server.AdminClient();
        for (var i = 0; i < 25; i++)
        {
            var pod = $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"split-{{{i}}}"},"spec":{"nodeName":"split","containers":[{"name":"c","image":"busybox"}]}}""";
            using var created = await admin.PostAsync("/api/v1/namespaces/default/pods", new StringContent(pod, Encoding.UTF8, "application/json"));
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "split"), Ca.Certificate);
        await channel.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "split" } });
        var welcome = (await channel.NextAsync()).Welcome;
        var batches = new List<SyncBatch>();
        do
        {
            batches.Add((await channel.NextAsync()).Sync);
        }
        while (!batches[^1].Complete);

        Assert.Equal([10, 10, 5], batches.Select(b => b.Changes.Count));
        Assert.All(batches, b => Assert.True(b.Snapshot));
        Assert.Equal([0L, 0L], batches.Take(2).Select(b => b.Revision));
        Assert.True(batches[^1].Revision >= welcome.Revision && batches[^1].Revision > 0);
        Assert.Equal(25, batches.SelectMany(b => b.Changes).Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public async Task GatewayObjects_FollowTheNodesLabelsAndAssignments()
    {
        using var admin = server.AdminClient();
        async Task PostAsync(string path, string json)
        {
            using var response = await admin.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        await PostAsync("/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"gw","labels":{"role":"gateway","verge.dev/site":"plant-1"}}}""");
        const string Rule = """{"apiVersion":"edge.verge.dev/v1","kind":"DataRule","metadata":{"name":"NAME"},"spec":{SELECTOR"statement":"SELECT * FROM 'sensors/+'","actions":[{"upstream":{"topic":"t"}}]}}""";
        await PostAsync("/apis/edge.verge.dev/v1/namespaces/default/datarules", Rule.Replace("NAME", "for-gateways").Replace("SELECTOR", "\"nodeSelector\":{\"role\":\"gateway\"},"));
        await PostAsync("/apis/edge.verge.dev/v1/namespaces/default/datarules", Rule.Replace("NAME", "other-site").Replace("SELECTOR", "\"site\":\"plant-2\","));
        await PostAsync("/apis/edge.verge.dev/v1/namespaces/default/devices", """{"apiVersion":"edge.verge.dev/v1","kind":"Device","metadata":{"name":"sensor-1"},"spec":{"protocol":"mqtt","credentialsSecret":"s","nodeName":"gw"}}""");
        await PostAsync("/apis/edge.verge.dev/v1/namespaces/default/devices", """{"apiVersion":"edge.verge.dev/v1","kind":"Device","metadata":{"name":"sensor-2"},"spec":{"protocol":"mqtt","credentialsSecret":"s","nodeName":"elsewhere"}}""");

        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "gw"), Ca.Certificate);
        await channel.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "gw" } });
        _ = await channel.NextAsync();
        var snapshot = (await channel.NextAsync()).Sync;

        Assert.Equal(
            ["DataRule/for-gateways", "Device/sensor-1"],
            snapshot.Changes.Select(c => $"{(c.Kind == ObjectKind.DataRule ? "DataRule" : "Device")}/{c.Name}").Order(StringComparer.Ordinal));

        using var relabel = await admin.PatchAsync("/api/v1/nodes/gw", new StringContent("""{"metadata":{"labels":{"role":"sensor-hub"}}}""", Encoding.UTF8, "application/merge-patch+json"));
        Assert.True(relabel.IsSuccessStatusCode);
        var live = (await channel.NextAsync()).Sync;

        var change = Assert.Single(live.Changes);
        Assert.Equal((ObjectKind.DataRule, ChangeType.Delete, "for-gateways"), (change.Kind, change.Type, change.Name));
    }

    [Fact]
    public async Task Hello_WithTheDigestOfWhatTheServerWouldSend_GetsNoListRequestAndNoObjects()
    {
        var revision = await CreatePodsAsync("dg", "dg-a", "dg-b");
        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "dg"), Ca.Certificate);
        await channel.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "dg", LastRevision = revision, HeldSha256 = Digest(("default", "dg-a"), ("default", "dg-b")) } });

        var welcome = (await channel.NextAsync()).Welcome;
        var sync = (await channel.NextAsync()).Sync;

        Assert.NotNull(welcome);
        Assert.True(welcome.AcceptsHeldDigest);
        Assert.True(sync.Complete);
        Assert.Empty(sync.Changes);
    }

    [Fact]
    public async Task Hello_WithADigestThatDiffers_IsAnsweredWithHeldRequest_ThenTheCatchUpFollowsTheList()
    {
        var revision = await CreatePodsAsync("dm", "dm-a", "dm-b");
        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "dm"), Ca.Certificate);

        // The agent holds dm-a and a pod that is gone, and lacks dm-b.
        await channel.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "dm", LastRevision = revision, HeldSha256 = Digest(("default", "dm-a"), ("default", "dm-gone")) } });
        Assert.Equal(ServerMessage.BodyOneofCase.HeldRequest, (await channel.NextAsync()).BodyCase);
        var held = new HeldKeys();
        held.Held.Add(new ObjectKey { Kind = ObjectKind.Pod, Namespace = "default", Name = "dm-a" });
        held.Held.Add(new ObjectKey { Kind = ObjectKind.Pod, Namespace = "default", Name = "dm-gone" });
        await channel.SendAsync(new AgentMessage { HeldKeys = held });

        Assert.NotNull((await channel.NextAsync()).Welcome);
        var sync = (await channel.NextAsync()).Sync;
        Assert.False(sync.Snapshot);
        Assert.Equal(["DELETE dm-gone", "UPSERT dm-b"], sync.Changes.Select(c => $"{c.Type.ToString().ToUpperInvariant()} {c.Name}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task HeldRequest_AnsweredWithSomethingElse_IsInvalidArgument()
    {
        var revision = await CreatePodsAsync("dx", "dx-a");
        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "dx"), Ca.Certificate);
        await channel.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "dx", LastRevision = revision, HeldSha256 = Digest() } });
        Assert.Equal(ServerMessage.BodyOneofCase.HeldRequest, (await channel.NextAsync()).BodyCase);

        var error = await channel.RefusedAsync(new AgentMessage { Heartbeat = new Heartbeat() });

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("HeldKeys", error.Status.Detail);
    }

    [Fact]
    public async Task NodeReport_AlreadyHeldByTheServer_IsNotAskedForAgain_UnlessTheNodeWasDeleted()
    {
        var report = Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"Node","metadata":{"name":"rp","labels":{"a":"b"}}}""");
        // The digest the agent sends: its report's content, as NodeReportDigest computes it.
        var hash = ByteString.CopyFrom(NodeReportDigest.Compute(JsonSerializer.Deserialize(report, VergeJsonContext.Default.Node)!));
        await using (var first = RawChannel.Open(server.Address, NodeCertificate(Ca, "rp"), Ca.Certificate))
        {
            await first.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "rp", NodeReportSha256 = hash } });
            Assert.False((await first.NextAsync()).Welcome.NodeReportCurrent);
            await first.SendAsync(new AgentMessage { Node = new NodeReport { NodeJson = ByteString.CopyFrom(report) } });
            using var admin = server.AdminClient();
            await EventuallyAsync(async () => (await admin.GetAsync("/api/v1/nodes/rp")).IsSuccessStatusCode, "the node is written");
        }

        Assert.True(await WelcomeSaysReportCurrentAsync(hash));
        Assert.False(await WelcomeSaysReportCurrentAsync(ByteString.CopyFrom(new byte[32])));

        using (var admin = server.AdminClient())
        {
            using var deleted = await admin.DeleteAsync("/api/v1/nodes/rp");
            Assert.True(deleted.IsSuccessStatusCode);
        }

        Assert.False(await WelcomeSaysReportCurrentAsync(hash));
    }

    private async Task<bool> WelcomeSaysReportCurrentAsync(ByteString hash)
    {
        await using var channel = RawChannel.Open(server.Address, NodeCertificate(Ca, "rp"), Ca.Certificate);
        await channel.SendAsync(new AgentMessage { Hello = new Hello { NodeName = "rp", NodeReportSha256 = hash } });
        return (await channel.NextAsync()).Welcome.NodeReportCurrent;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"timed out waiting until {what}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Creates pods bound to <paramref name="node"/>; returns the revision of the last.</summary>
    private async Task<long> CreatePodsAsync(string node, params string[] names)
    {
        using var admin = server.AdminClient();
        long revision = 0;
        foreach (var name in names)
        {
            var pod = $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}"},"spec":{"nodeName":"{{{node}}}","containers":[{"name":"c","image":"busybox"}]}}""";
            using var created = await admin.PostAsync("/api/v1/namespaces/default/pods", new StringContent(pod, Encoding.UTF8, "application/json"));
            var body = await created.Content.ReadAsStringAsync();
            Assert.True(created.IsSuccessStatusCode, body);
            revision = long.Parse(System.Text.Json.Nodes.JsonNode.Parse(body)!["metadata"]!["resourceVersion"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        }

        return revision;
    }

    private static ByteString Digest(params (string Namespace, string Name)[] pods) =>
        ByteString.CopyFrom(Verge.Core.Edge.HeldKeyDigest.Compute(pods.Select(p => ((int)ObjectKind.Pod, p.Namespace, p.Name))));

    private static X509Certificate2 NodeCertificate(CertificateAuthority ca, string node)
    {
        var (cert, key) = ca.IssueClient("system:node:" + node, ["system:nodes"], TimeSpan.FromHours(1));
        return X509Certificate2.CreateFromPem(cert, key);
    }
}

/// <summary>A bare node channel call over mutual TLS, with the messages built by hand.</summary>
internal sealed class RawChannel : IAsyncDisposable
{
    private static readonly Method<AgentMessage, ServerMessage> ConnectMethod = new(
        MethodType.DuplexStreaming,
        "verge.node.v1.NodeChannel",
        "Connect",
        Marshallers.Create(m => m.ToByteArray(), AgentMessage.Parser.ParseFrom),
        Marshallers.Create(m => m.ToByteArray(), ServerMessage.Parser.ParseFrom));

    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<AgentMessage, ServerMessage> _call;

    private RawChannel(GrpcChannel channel)
    {
        _channel = channel;
        _call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(ConnectMethod, null, new CallOptions());
    }

    public static RawChannel Open(Uri address, X509Certificate2 client, X509Certificate2 ca)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [client];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return cert is X509Certificate2 c && chain.Build(c);
        };
        return new RawChannel(GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler }));
    }

    public Task SendAsync(AgentMessage message) => _call.RequestStream.WriteAsync(message);

    /// <summary>Sends <paramref name="first"/> and returns the error the call ends with (the server may end it before the send completes).</summary>
    public async Task<RpcException> RefusedAsync(AgentMessage first)
    {
        try
        {
            await SendAsync(first);
        }
        catch (RpcException)
        {
            // The call already ended; its status comes with the response.
        }

        try
        {
            await NextAsync();
        }
        catch (RpcException e)
        {
            return e;
        }

        throw new Xunit.Sdk.XunitException("the server accepted the call");
    }

    public async Task<ServerMessage> NextAsync() =>
        await NextOrEndAsync() ?? throw new InvalidOperationException("the server ended the stream");

    /// <summary>The next message, or null when the server ended the stream.</summary>
    public async Task<ServerMessage?> NextOrEndAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await _call.ResponseStream.MoveNext(timeout.Token) ? _call.ResponseStream.Current : null;
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}
