using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Agent.Channel;
using Verge.Core.Security;
using Verge.Core.Serialization;
using Verge.Gateway;

namespace Verge.Agent.Tests.Channel;

/// <summary>
/// The cloud link end to end: a real control plane with its cloud MQTT endpoint, an agent's node channel client,
/// and mosquitto_sub / mosquitto_pub as the cloud application over TLS (cluster CA, client certificate or token).
/// </summary>
public sealed class CloudLinkTests : IAsyncLifetime
{
    private const string CloudGroup = "verge:cloud";

    private readonly string _dir = Directory.CreateTempSubdirectory("verge-cloudlink-").FullName;
    private ChannelHarness _harness = null!;
    private int _mqttPort;

    public async Task InitializeAsync()
    {
        Mosquitto.Require();
        _mqttPort = ChannelHarness.FreePort();
        _harness = await ChannelHarness.StartAsync(o => o.MqttListen = "127.0.0.1:" + _mqttPort);
        File.WriteAllText(CaFile, _harness.Ca.CertificatePem);
        var (cert, key) = _harness.Ca.IssueClient("cloud-app", [CloudGroup], TimeSpan.FromHours(1));
        File.WriteAllText(CertFile, cert);
        File.WriteAllText(KeyFile, key);
        var (other, otherKey) = _harness.Ca.IssueClient("someone", ["staff"], TimeSpan.FromHours(1));
        File.WriteAllText(OtherCertFile, other);
        File.WriteAllText(OtherKeyFile, otherKey);
    }

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string CaFile => Path.Combine(_dir, "ca.pem");

    private string CertFile => Path.Combine(_dir, "cloud.pem");

    private string KeyFile => Path.Combine(_dir, "cloud.key");

    private string OtherCertFile => Path.Combine(_dir, "other.pem");

    private string OtherKeyFile => Path.Combine(_dir, "other.key");

    private string[] Tls => ["-h", "127.0.0.1", "-p", _mqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cafile", CaFile];

    private string[] WithCertificate => [.. Tls, "--cert", CertFile, "--key", KeyFile];

    [Fact]
    public async Task Uplink_WhenBatchSent_IsPublishedAtTheCloudWithIdsAndAcknowledged()
    {
        await using var sub = Mosquitto.Subscribe([.. WithCertificate, "-V", "5", "-i", "cloud-sub", "-t", "sites/#", "-t", "probe", "-F", "%t|%P|%p"]);
        var token = await CreateApiTokenAsync();
        await ProbeAsync(sub, token);
        await using var agent = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState()));
        await agent.SyncedAsync();
        await ChannelHarness.EventuallyAsync(() => agent.Client.Available, "the control-plane uplink is available");

        await agent.Client.SendAsync(
            [new UplinkMessage("gw1:1", "sites/s1/temp", "{\"t\":21}"u8.ToArray()), new UplinkMessage("gw1:2", "sites/s1/temp", "{\"t\":22}"u8.ToArray())],
            CancellationToken.None);

        var first = await sub.NextAsync(l => l.StartsWith("sites/", StringComparison.Ordinal));
        var second = await sub.NextAsync(l => l.StartsWith("sites/", StringComparison.Ordinal));
        Assert.Equal("sites/s1/temp|verge-message-id:gw1:1|{\"t\":21}", first);
        Assert.Equal("sites/s1/temp|verge-message-id:gw1:2|{\"t\":22}", second);
    }

    [Fact]
    public async Task Uplink_WhenMessageIdRepeats_DropsTheDuplicateAndCountsIt()
    {
        await using var sub = Mosquitto.Subscribe([.. WithCertificate, "-V", "5", "-i", "cloud-sub", "-t", "sites/#", "-t", "probe", "-F", "%P"]);
        var token = await CreateApiTokenAsync();
        await ProbeAsync(sub, token);
        await using var agent = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState()));
        await agent.SyncedAsync();
        await ChannelHarness.EventuallyAsync(() => agent.Client.Available, "the control-plane uplink is available");

        await agent.Client.SendAsync([Message("gw1:1"), Message("gw1:2")], CancellationToken.None);
        await agent.Client.SendAsync([Message("gw1:2"), Message("gw1:3")], CancellationToken.None);

        var ids = new List<string>();
        while (ids.LastOrDefault() != "verge-message-id:gw1:3")
        {
            ids.Add(await sub.NextAsync(l => l.StartsWith("verge-message-id:gw1:", StringComparison.Ordinal)));
        }

        Assert.Equal(["verge-message-id:gw1:1", "verge-message-id:gw1:2", "verge-message-id:gw1:3"], ids);
        var metrics = await _harness.Admin.GetStringAsync("/metrics");
        Assert.Contains("verge_cloud_uplink_messages_total{outcome=\"duplicate\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("verge_cloud_uplink_messages_total{outcome=\"published\"} 3", metrics, StringComparison.Ordinal);

        static UplinkMessage Message(string id) => new(id, "sites/s1/temp", "{}"u8.ToArray());
    }

    [Fact]
    public async Task Uplink_WhenACloudApplicationFallsFarBehind_BatchesAreRefusedUntilItCatchesUp_AndNothingIsLost()
    {
        await using var sub = Mosquitto.Subscribe([.. WithCertificate, "-V", "5", "-q", "1", "-i", "slow-sub", "-t", "sites/#", "-t", "probe", "-F", "%P"]);
        var token = await CreateApiTokenAsync();
        await ProbeAsync(sub, token);
        await using var agent = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState()));
        await agent.SyncedAsync();
        await ChannelHarness.EventuallyAsync(() => agent.Client.Available, "the control-plane uplink is available");
        var payload = new byte[2048];
        UplinkMessage[] Batch(int b) => [.. Enumerable.Range((b * 500) + 1, 500).Select(i => new UplinkMessage($"gw1:{i}", "sites/s1/bulk", payload))];

        // The application stops reading: once the socket buffers are full, its queue on the endpoint grows, and a
        // batch that would push it past half of its bound waits and is then refused (the gateway keeps it).
        sub.Pause();
        var next = 0;
        string? refusal = null;
        for (; next < 60 && refusal is null; next++)
        {
            try
            {
                await agent.Client.SendAsync(Batch(next), CancellationToken.None);
            }
            catch (IOException e)
            {
                refusal = e.Message;
                next--;
            }
        }

        Assert.True(refusal is not null, "60 batches of 500 messages were taken while the application read nothing");
        Assert.Contains("behind", refusal, StringComparison.Ordinal);

        // It reads again: the refused batch goes through (as a gateway's queue would send it again), and every
        // message arrives, in order, none dropped by the endpoint.
        sub.Resume();
        var total = (next + 1) * 500;
        for (; next * 500 < total; next++)
        {
            await ChannelHarness.EventuallyAsync(async () =>
            {
                try
                {
                    await agent.Client.SendAsync(Batch(next), CancellationToken.None);
                    return true;
                }
                catch (IOException)
                {
                    return false;
                }
            }, $"batch {next} to be taken");
        }

        for (var i = 1; i <= total; i++)
        {
            Assert.Equal($"verge-message-id:gw1:{i}", await sub.NextAsync(l => l.StartsWith("verge-message-id:", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task Uplink_WhenNotConnected_FailsSoTheQueueRetries()
    {
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());

        Assert.False(client.Available);
        await Assert.ThrowsAsync<IOException>(() => client.SendAsync([new UplinkMessage("gw1:1", "sites/x", "{}"u8.ToArray())], CancellationToken.None));
    }

    [Fact]
    public async Task Command_PublishedByCloudApplication_ReachesTheAgentOfTheDevicesNode()
    {
        await CreateDeviceAsync("d1", "n1");
        var token = await CreateApiTokenAsync();
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());
        var received = new ConcurrentQueue<DeviceCommand>();
        client.CommandReceived += received.Enqueue;
        await using var agent = new RunningClient(client);
        await agent.SyncedAsync();

        var result = await Mosquitto.RunAsync("mosquitto_pub", [.. Tls, "-i", "cloud-pub", "-u", "app", "-P", token, "-t", "devices/d1/commands/reboot", "-m", "{\"delay\":5}", "-q", "1"]);

        Assert.True(result.ExitCode == 0, "mosquitto_pub failed: " + result.Output);
        await ChannelHarness.EventuallyAsync(() => !received.IsEmpty, "the agent received the command");
        var command = Assert.Single(received);
        Assert.Equal(("default", "d1", "devices/d1/commands/reboot", "{\"delay\":5}"), (command.Namespace, command.Device, command.Topic, Encoding.UTF8.GetString(command.Payload.Span)));
    }

    [Fact]
    public async Task Command_OnTheNamespacedTopic_ReachesTheDeviceOfThatNamespace()
    {
        await _harness.CreateAsync("/api/v1/namespaces", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"plant\"}}");
        await CreateDeviceAsync("d1", "n1", ns: "plant");
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());
        var received = new ConcurrentQueue<DeviceCommand>();
        client.CommandReceived += received.Enqueue;
        await using var agent = new RunningClient(client);
        await agent.SyncedAsync();

        var result = await Mosquitto.RunAsync("mosquitto_pub", [.. WithCertificate, "-i", "cloud-pub", "-t", "devices/plant/d1/commands/reboot", "-m", "now", "-q", "1"]);

        Assert.True(result.ExitCode == 0, "mosquitto_pub failed: " + result.Output);
        await ChannelHarness.EventuallyAsync(() => !received.IsEmpty, "the agent received the command");
        var command = Assert.Single(received);
        Assert.Equal(("plant", "d1", "devices/d1/commands/reboot", "now"), (command.Namespace, command.Device, command.Topic, Encoding.UTF8.GetString(command.Payload.Span)));
    }

    [Fact]
    public async Task Command_PostedThroughTheApiWithBearerToken_ReachesTheAgent()
    {
        await CreateDeviceAsync("d1", "n1");
        var token = await CreateApiTokenAsync();
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());
        var received = new ConcurrentQueue<DeviceCommand>();
        client.CommandReceived += received.Enqueue;
        await using var agent = new RunningClient(client);
        await agent.SyncedAsync();

        using var response = await PostCommandAsync(token, "d1", """{"command":"valve/open","payload":{"percent":40}}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await ChannelHarness.EventuallyAsync(() => !received.IsEmpty, "the agent received the command");
        var command = Assert.Single(received);
        Assert.Equal("devices/d1/commands/valve/open", command.Topic);
        Assert.Equal("{\"percent\":40}", Encoding.UTF8.GetString(command.Payload.Span));
    }

    [Fact]
    public async Task Command_WhenTheNodeIsOffline_IsRefusedWithServiceUnavailable()
    {
        await CreateDeviceAsync("d1", "n1");
        var token = await CreateApiTokenAsync();

        using var response = await PostCommandAsync(token, "d1", """{"command":"reboot"}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("node \\\"n1\\\"", body, StringComparison.Ordinal);
        Assert.Contains("not connected", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_ForAnUnknownDevice_IsNotFound()
    {
        var token = await CreateApiTokenAsync();

        using var response = await PostCommandAsync(token, "nope", """{"command":"reboot"}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task DeviceReport_FromTheGateway_BecomesDeviceStatus()
    {
        await CreateDeviceAsync("d1", "n1");
        await using var agent = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState()));
        await agent.SyncedAsync();
        var seen = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

        agent.Client.Report(new DeviceReport("default", "d1", true, seen, "{\"firmware\":\"1.2\"}"u8.ToArray()));
        agent.Client.Report(new DeviceReport("default", "d1", true, seen, null));

        JsonObject? status = null;
        await ChannelHarness.EventuallyAsync(async () =>
        {
            status = (await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1"))?["status"]?.AsObject();
            return status?["reported"] is not null;
        }, "the device's status shows its report");
        Assert.True(status!["connected"]!.GetValue<bool>());
        Assert.Equal("1.2", status["reported"]!["firmware"]!.GetValue<string>());
        Assert.Equal("n1", status["gatewayNode"]!.GetValue<string>());
        Assert.Equal(seen, status["lastSeen"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task Twin_ChangedOnBothSidesWhileTheLinkIsCut_FlowsBothWaysWhenItHeals()
    {
        await CreateDeviceAsync("d1", "n1");
        await using var proxy = new BlackholeProxy(_harness.Host.Address);
        var state = new InMemoryDesiredState();
        var client = _harness.NewClient(_harness.Identity("n1"), state, servers: [proxy.Address]);
        var syncs = 0;
        client.Synced += () => Interlocked.Increment(ref syncs);
        await using var agent = new RunningClient(client);
        await agent.SyncedAsync();
        Assert.Equal(10, state.Object(DesiredKind.Device, "d1")["spec"]!["desired"]!["interval"]!.GetValue<int>());
        var seen = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

        // The link dies silently: the device's report leaves the agent before it notices; the cloud changes the
        // desired twin meanwhile.
        proxy.Cut();
        client.Report(new DeviceReport("default", "d1", true, seen, "{\"firmware\":\"2.0\"}"u8.ToArray()));
        await ChannelHarness.EventuallyAsync(() => client.PendingDeviceReports == 0, "the report is handed to the dead connection");
        await _harness.PatchAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1", """{"spec":{"desired":{"interval":30}}}""");
        await ChannelHarness.EventuallyAsync(() => !client.Connected, "the agent notices the dead link");
        Assert.Equal(10, state.Object(DesiredKind.Device, "d1")["spec"]!["desired"]!["interval"]!.GetValue<int>());
        Assert.Null((await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1"))!["status"]?["reported"]);

        proxy.Heal();
        await ChannelHarness.EventuallyAsync(() => Volatile.Read(ref syncs) >= 2, "the agent reconnects and catches up", seconds: 60);
        Assert.Equal(30, state.Object(DesiredKind.Device, "d1")["spec"]!["desired"]!["interval"]!.GetValue<int>());
        await ChannelHarness.EventuallyAsync(async () =>
            (await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1"))?["status"]?["reported"]?["firmware"]?.GetValue<string>() == "2.0",
            "the reported twin that was lost on the dead link reaches the device's status");
    }

    [Fact]
    public async Task DeviceReport_TwoReportsSentIntoALinkThatSilentlyDied_TheNewestReachesTheDeviceAfterTheLinkHeals()
    {
        await CreateDeviceAsync("d1", "n1");
        await using var proxy = new BlackholeProxy(_harness.Host.Address);
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), servers: [proxy.Address]);
        await using var agent = new RunningClient(client);
        await agent.SyncedAsync();
        var seen = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

        // Two reports leave the agent in two batches before it notices the dead link; both are put back.
        proxy.Cut();
        client.Report(new DeviceReport("default", "d1", true, seen, "{\"firmware\":\"2.0\"}"u8.ToArray()));
        await ChannelHarness.EventuallyAsync(() => client.PendingDeviceReports == 0, "the first report is handed to the dead connection");
        client.Report(new DeviceReport("default", "d1", false, seen.AddMinutes(1), "{\"firmware\":\"3.0\"}"u8.ToArray()));
        await ChannelHarness.EventuallyAsync(() => client.PendingDeviceReports == 0, "the second report is handed to the dead connection");
        await ChannelHarness.EventuallyAsync(() => !client.Connected, "the agent notices the dead link");

        proxy.Heal();
        JsonObject? status = null;
        await ChannelHarness.EventuallyAsync(async () =>
        {
            status = (await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1"))?["status"]?.AsObject();
            return status?["reported"] is not null && client.PendingDeviceReports == 0 && client.Connected;
        }, "a report reaches the device's status after the link heals", seconds: 60);
        await ChannelHarness.EventuallyAsync(async () =>
            (await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1"))?["status"]?["reported"]?["firmware"]?.GetValue<string>() == "3.0",
            "the newest reported twin reaches the device's status");
        status = (await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1"))!["status"]!.AsObject();
        Assert.False(status["connected"]!.GetValue<bool>());
        Assert.Equal(seen.AddMinutes(1), status["lastSeen"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task DeviceReport_ForADeviceOfAnotherNode_IsRefused()
    {
        await CreateDeviceAsync("d2", "n2");
        await CreateDeviceAsync("d1", "n1");
        await using var agent = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState()));
        await agent.SyncedAsync();
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

        agent.Client.Report(new DeviceReport("default", "d2", true, now, "{\"x\":1}"u8.ToArray()));
        agent.Client.Report(new DeviceReport("default", "d1", true, now, null));

        // d1's report travels in the same batch, after d2's: once it is written, d2's was handled (and refused).
        await ChannelHarness.EventuallyAsync(async () =>
            (await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1"))?["status"]?["connected"] is not null,
            "d1's status is written");
        var d2 = await _harness.GetAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d2");
        Assert.Null(d2!["status"]?["reported"]);
    }

    [Fact]
    public async Task DesiredState_SecretNamedByADevice_ReachesTheDevicesNode()
    {
        await _harness.CreateSecretAsync("d1-creds");
        await _harness.CreateSecretAsync("unrelated");
        await CreateDeviceAsync("d1", "n1", "d1-creds");
        var state = new InMemoryDesiredState();
        await using var agent = new RunningClient(_harness.NewClient(_harness.Identity("n1"), state));
        await agent.SyncedAsync();

        Assert.True(state.Holds(DesiredKind.Device, "d1"));
        Assert.True(state.Holds(DesiredKind.Secret, "d1-creds"));
        Assert.False(state.Holds(DesiredKind.Secret, "unrelated"));

        await _harness.DeleteAsync("/apis/edge.verge.dev/v1/namespaces/default/devices/d1");
        await ChannelHarness.EventuallyAsync(() => !state.Holds(DesiredKind.Secret, "d1-creds"), "the secret leaves the node with its device");
    }

    [Fact]
    public async Task CloudEndpoint_WithWrongOrMissingCredentials_RefusesTheConnection()
    {
        await CreateApiTokenAsync();

        var wrongToken = await Mosquitto.RunAsync("mosquitto_pub", [.. Tls, "-i", "bad1", "-u", "app", "-P", "abcdef.0123456789abcdef", "-t", "x", "-m", "1"]);
        var none = await Mosquitto.RunAsync("mosquitto_pub", [.. Tls, "-i", "bad2", "-t", "x", "-m", "1"]);
        var notCloud = await Mosquitto.RunAsync("mosquitto_pub", [.. Tls, "-i", "bad3", "--cert", OtherCertFile, "--key", OtherKeyFile, "-t", "x", "-m", "1"]);

        Assert.NotEqual(0, wrongToken.ExitCode);
        Assert.Contains("bad user name or password", wrongToken.Output, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(0, none.ExitCode);
        Assert.NotEqual(0, notCloud.ExitCode);
        Assert.Contains("not authorised", notCloud.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Api_WithWrongBearerToken_IsUnauthorized()
    {
        using var client = BearerClient("abcdef.0123456789abcdef");

        using var response = await client.GetAsync("/api/v1/namespaces");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    /// <summary>Publishes probes with the token until the subscriber sees one: it is then connected and subscribed.</summary>
    private async Task ProbeAsync(Mosquitto.Subscriber sub, string token)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var result = await Mosquitto.RunAsync("mosquitto_pub", [.. Tls, "-i", "prober", "-u", "app", "-P", token, "-t", "probe", "-m", "probe"]);
            Assert.True(result.ExitCode == 0, "probe publish failed: " + result.Output);
            if (await sub.WaitAnyAsync(TimeSpan.FromMilliseconds(500)))
            {
                sub.Clear();
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "the subscriber never received a probe: " + sub.Errors);
        }
    }

    private async Task<string> CreateApiTokenAsync()
    {
        var token = JoinToken.Generate();
        var secret = BootstrapTokenSecret.CreateForApi(token, null, "cloud app", [CloudGroup]);
        await _harness.CreateAsync("/api/v1/namespaces/kube-system/secrets", JsonSerializer.Serialize(secret, VergeJsonContext.Default.Secret));
        return token.BootstrapToken;
    }

    private Task<JsonObject> CreateDeviceAsync(string name, string node, string? secret = null, string ns = "default") =>
        _harness.CreateAsync($"/apis/edge.verge.dev/v1/namespaces/{ns}/devices", new JsonObject
        {
            ["apiVersion"] = "edge.verge.dev/v1",
            ["kind"] = "Device",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["protocol"] = "mqtt",
                ["credentialsSecret"] = secret ?? name + "-creds",
                ["nodeName"] = node,
                ["desired"] = new JsonObject { ["interval"] = 10 },
            },
        }.ToJsonString());

    private async Task<HttpResponseMessage> PostCommandAsync(string token, string device, string body)
    {
        using var client = BearerClient(token);
        return await client.PostAsync($"/apis/edge.verge.dev/v1/namespaces/default/devices/{device}/command", new StringContent(body, Encoding.UTF8, "application/json"));
    }

    /// <summary>An HTTP client without a certificate that presents <paramref name="token"/> as its bearer token.</summary>
    private HttpClient BearerClient(string token)
    {
        var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(_harness.Ca.CertificatePem);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
            chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            return cert is System.Security.Cryptography.X509Certificates.X509Certificate2 c && chain.Build(c);
        };
        var client = new HttpClient(handler) { BaseAddress = _harness.Host.Address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }
}

/// <summary>The mosquitto command-line clients as a cloud application.</summary>
internal static class Mosquitto
{
    public static void Require()
    {
        foreach (var tool in new[] { "mosquitto_sub", "mosquitto_pub" })
        {
            Assert.True(
                Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, tool))),
                $"{tool} is not installed: apt-get install -y mosquitto-clients");
        }
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} did not finish within 30 s");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    public static Subscriber Subscribe(string[] args) => new(args);

    /// <summary>A running mosquitto_sub: its output lines, in order.</summary>
    internal sealed class Subscriber : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
        private readonly StringBuilder _errors = new();

        public Subscriber(string[] args)
        {
            var start = new ProcessStartInfo("mosquitto_sub") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }

            _process = new Process { StartInfo = start };
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    _lines.Writer.TryWrite(line);
                }
            };
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_errors)
                {
                    _errors.AppendLine(e.Data);
                }
            };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Errors
        {
            get
            {
                lock (_errors)
                {
                    return _errors.ToString();
                }
            }
        }

        public async Task<bool> WaitAnyAsync(TimeSpan wait)
        {
            using var timeout = new CancellationTokenSource(wait);
            try
            {
                return await _lines.Reader.WaitToReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        /// <summary>SIGSTOP: mosquitto_sub stops reading its socket (a cloud application falling behind).</summary>
        public void Pause() => Signal("-STOP");

        /// <summary>SIGCONT: it reads again.</summary>
        public void Resume() => Signal("-CONT");

        public void Clear()
        {
            while (_lines.Reader.TryRead(out _))
            {
            }
        }

        /// <summary>The next line that matches, skipping others (probes); fails after a deadline.</summary>
        public async Task<string> NextAsync(Func<string, bool> match)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                while (true)
                {
                    var line = await _lines.Reader.ReadAsync(timeout.Token);
                    if (match(line))
                    {
                        return line;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("mosquitto_sub printed no matching line within 20 s; stderr: " + Errors);
                throw;
            }
        }

        private void Signal(string signal)
        {
            using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
            Assert.Equal(0, kill.ExitCode);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                Signal("-CONT");
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
