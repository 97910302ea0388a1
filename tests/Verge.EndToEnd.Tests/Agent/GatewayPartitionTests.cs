using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// The issue's partition promise end to end: a gateway (<c>verge agent --gateway</c>) in its own network namespace,
/// with a WAN link to the control plane and a LAN link to its devices, takes 1,000 QoS 1 messages per second from a
/// device for a minute while its WAN link is cut (and, in the second test, while the agent is killed with SIGKILL
/// and restarted on the same data dir). A stateless DataRule sends every message upstream with its sequence number
/// and <c>dup()</c>; a cloud application on <c>verge server --mqtt-listen</c> collects them. After the link heals every
/// message the device saw acknowledged arrives, in order, without a gap; a sequence number seen twice must be marked
/// (the same <c>verge-message-id</c>, or <c>dup: true</c> from the device's own redelivery).
/// </summary>
public sealed class GatewayPartitionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Node = "gw-part";
    private const int Rate = 1000;
    private static readonly TimeSpan PublishFor = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CutAt = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan HealAt = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan KillAt = TimeSpan.FromSeconds(25);

    private const string Objects = """
        apiVersion: v1
        kind: Secret
        metadata: {name: meter-1-creds}
        stringData: {password: s3cret}
        ---
        apiVersion: edge.verge.dev/v1
        kind: Device
        metadata: {name: meter-1}
        spec: {protocol: mqtt, credentialsSecret: meter-1-creds, nodeName: gw-part}
        ---
        apiVersion: edge.verge.dev/v1
        kind: DataRule
        metadata: {name: every-reading}
        spec:
          nodeSelector: {verge.dev/site: p1}
          statement: SELECT seq, dup() AS dup FROM 'devices/+/telemetry'
          actions:
          - upstream: {topic: sites/p1/readings}
        """;

    private readonly int _cloudPort = ServerProcess.FreePort(IPAddress.Loopback);
    private readonly int _devicePort = ServerProcess.FreePort(IPAddress.Loopback);
    private readonly string _agentDir = EdgeTools.TempDir("verge-e2e-gwpart");
    private readonly List<AgentProcess> _agents = [];
    private NetworkNamespace _wan = null!;
    private Lan _lan = null!;
    private ServerProcess _server = null!;

    public async Task InitializeAsync()
    {
        EdgeTools.Require("ip", "iproute2");
        EdgeTools.Require("nsenter", "util-linux");
        _wan = await NetworkNamespace.CreateAsync();
        _lan = await Lan.CreateAsync(_wan);
        _server = new ServerProcess(listenAddress: _wan.HostAddress, extraArgs: ["--mqtt-listen", $"127.0.0.1:{_cloudPort}"]);
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        await AgentProcess.CleanUpAsync(_agentDir);
        if (_lan is not null)
        {
            await _lan.DisposeAsync();
        }

        if (_wan is not null)
        {
            await _wan.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server.DeleteData();
        }
    }

    [Fact]
    public async Task Partition_DeviceAt1000PerSecond_EveryMessageArrivesUpstreamInOrderAfterHealing()
    {
        var report = await RunAsync(kill: false);

        Assert.Equal(0, report.Reconnects);
    }

    [Fact]
    public async Task PartitionAndKill9_EveryAcknowledgedMessageArrivesUpstreamInOrder()
    {
        var report = await RunAsync(kill: true);

        Assert.True(report.Reconnects >= 1, "the device never lost its connection: the agent was not killed mid-stream");
    }

    private async Task<Report> RunAsync(bool kill)
    {
        var token = (await VergeAsync("token", "create", "--kubeconfig", _server.Kubeconfig)).Trim();
        var apiToken = (await VergeAsync("token", "create", "--usage", "api", "--kubeconfig", _server.Kubeconfig)).Trim();
        string[] agentArgs = [
            "--server", _server.Url, "--name", Node, "--site", "p1", "--gateway", "--max-pods", "0",
            "--mqtt-listen", $"{_lan.Address}:{_devicePort}", "--ingest-listen", "off"];
        var agent = StartAgent([.. agentArgs, "--token", token]);
        await agent.WaitForLineAsync($"Agent {Node} is in sync", TimeSpan.FromSeconds(90));
        var applied = await new Kubectl(_server).RunWithInputAsync(Objects, "apply", "-f", "-");
        Assert.True(applied.ExitCode == 0, applied.Stderr);
        await agent.WaitForLineAsync("Data rule default/every-reading loaded", TimeSpan.FromSeconds(60));

        await using var cloud = await Cloud.ConnectAsync(_cloudPort, Path.Combine(_server.DataDir, "pki", "ca.crt"), apiToken);
        await using var device = new Device(_lan.Address, _devicePort);
        await EdgeTools.EventuallyAsync(async () => await device.TryConnectAsync() ? "connected" : null, TimeSpan.FromSeconds(60), () => Task.FromResult(agent.Output));

        // The device publishes on a fixed schedule (message i is due at i ms); the link and the agent fail meanwhile.
        var clock = Stopwatch.StartNew();
        var total = (int)(PublishFor.TotalSeconds * Rate);
        var publishing = Task.Run(() => device.PublishAsync(total, Rate, clock));
        await WaitUntilAsync(clock, CutAt);
        await _wan.CutAsync();
        if (kill)
        {
            await WaitUntilAsync(clock, KillAt);
            agent.Kill();
            output.WriteLine($"agent killed at {clock.Elapsed.TotalSeconds:F1} s after {device.Acknowledged} acknowledged messages");
            agent = StartAgent(agentArgs);
        }

        await WaitUntilAsync(clock, HealAt);
        var publishedAtHeal = device.Acknowledged;
        await _wan.HealAsync();
        var healedAt = clock.Elapsed;
        await publishing;
        var publishedAt = clock.Elapsed;

        await EdgeTools.EventuallyAsync(
            () => Task.FromResult<string?>(cloud.Analyze().Firsts.Count >= total ? "all" : null),
            TimeSpan.FromSeconds(150),
            () => Task.FromResult($"{cloud.Analyze()}\nagent:\n{agent.Output}"));
        var result = cloud.Analyze();

        // Every sequence number 0..N-1, in order, once; anything seen again carries a mark.
        Assert.Equal(total, device.Acknowledged);
        Assert.Equal(0, result.Gaps);
        Assert.True(Enumerable.Range(0, total).SequenceEqual(result.Firsts), $"out of order: {result}");
        Assert.Equal(0, result.UnmarkedDuplicates);

        var drained = cloud.ArrivalOf(publishedAtHeal - 1, clock) - healedAt;
        var report = new Report(total, result.Received, result.MarkedDuplicates, result.Gaps, device.Reconnects, drained, publishedAt);
        output.WriteLine(report.ToString());
        return report;
    }

    private AgentProcess StartAgent(IEnumerable<string> args)
    {
        var agent = AgentProcess.Start(_agentDir, args, _wan);
        _agents.Add(agent);
        return agent;
    }

    private static async Task WaitUntilAsync(Stopwatch clock, TimeSpan at)
    {
        var left = at - clock.Elapsed;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }
    }

    private static Task<string> VergeAsync(params string[] args) =>
        EdgeTools.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "verge.dll"), .. args]);

    private sealed record Report(int Published, int Received, int Duplicates, int Gaps, int Reconnects, TimeSpan DrainAfterHeal, TimeSpan PublishingTook)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"published {Published} (in {PublishingTook.TotalSeconds:F1} s), received upstream {Received}, marked duplicates {Duplicates}, gaps {Gaps}, device reconnects {Reconnects}, backlog at heal delivered {DrainAfterHeal.TotalSeconds:F1} s after heal");
    }

    /// <summary>
    /// A second veth pair into the gateway's namespace: the devices' LAN, which stays up while the WAN link
    /// (<see cref="NetworkNamespace"/>'s own) is cut. The test process, in the host namespace, is the device.
    /// </summary>
    private sealed class Lan : IAsyncDisposable
    {
        private readonly string _hostDevice;

        private Lan(string hostDevice, string address)
        {
            _hostDevice = hostDevice;
            Address = address;
        }

        public string Address { get; }

        public static async Task<Lan> CreateAsync(NetworkNamespace wan)
        {
            var n = wan.Address.Split('.')[2];
            var suffix = wan.HostDevice[2..];
            var lan = new Lan($"lh{suffix}", $"10.233.{n}.2");
            await EdgeTools.RunAsync("ip", ["link", "add", lan._hostDevice, "type", "veth", "peer", "name", $"ln{suffix}"]);
            await EdgeTools.RunAsync("ip", ["link", "set", $"ln{suffix}", "netns", wan.Name]);
            await EdgeTools.RunAsync("ip", ["addr", "add", $"10.233.{n}.1/30", "dev", lan._hostDevice]);
            await EdgeTools.RunAsync("ip", ["link", "set", lan._hostDevice, "up"]);
            await EdgeTools.RunAsync("ip", ["-n", wan.Name, "addr", "add", $"{lan.Address}/30", "dev", $"ln{suffix}"]);
            await EdgeTools.RunAsync("ip", ["-n", wan.Name, "link", "set", $"ln{suffix}", "up"]);
            return lan;
        }

        public async ValueTask DisposeAsync() => await EdgeTools.ExecAsync("ip", ["link", "del", _hostDevice]);
    }

    /// <summary>
    /// The device: an MQTTnet client publishing <c>{"seq": i}</c> at QoS 1, each message awaited until its PUBACK. A
    /// message whose PUBACK did not come (the connection broke) is sent again, with the DUP flag, after reconnecting.
    /// </summary>
    private sealed class Device(string host, int port) : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private int _acknowledged;

        public int Acknowledged => Volatile.Read(ref _acknowledged);

        public int Reconnects { get; private set; }

        public async Task<bool> TryConnectAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var options = new MqttClientOptionsBuilder()
                    .WithTcpServer(host, port)
                    .WithClientId("meter-1")
                    .WithCredentials("meter-1", "s3cret")
                    .WithProtocolVersion(MqttProtocolVersion.V311)
                    .WithTimeout(TimeSpan.FromSeconds(5))
                    .Build();
                var result = await _client.ConnectAsync(options, timeout.Token);
                return result.ResultCode == MqttClientConnectResultCode.Success;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
                return false;
            }
        }

        public async Task PublishAsync(int total, int rate, Stopwatch clock)
        {
            for (var seq = 0; seq < total; seq++)
            {
                var due = TimeSpan.FromMilliseconds(seq * 1000.0 / rate);
                if (due - clock.Elapsed is { TotalMilliseconds: >= 1 } wait)
                {
                    await Task.Delay(wait);
                }

                await PublishOneAsync(seq);
                Volatile.Write(ref _acknowledged, seq + 1);
            }
        }

        private async Task PublishOneAsync(int seq)
        {
            var payload = Encoding.UTF8.GetBytes($"{{\"seq\":{seq}}}");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    if (!_client.IsConnected)
                    {
                        Reconnects++;
                        while (!await TryConnectAsync())
                        {
                            Assert.True(DateTime.UtcNow < deadline, $"the device could not reconnect to the gateway to send message {seq}");
                            await Task.Delay(200);
                        }
                    }

                    var message = new MqttApplicationMessageBuilder()
                        .WithTopic("devices/meter-1/telemetry")
                        .WithPayload(payload)
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                        .Build();
                    message.Dup = attempt > 0;
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    var result = await _client.PublishAsync(message, timeout.Token);
                    if (result.IsSuccess)
                    {
                        return;
                    }

                    Assert.Fail($"message {seq} refused: {result.ReasonCode} {result.ReasonString}");
                }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
                {
                    // No PUBACK: the message may or may not be stored; it goes again, marked as a duplicate.
                    Assert.True(DateTime.UtcNow < deadline, $"message {seq} was never acknowledged: {e.Message}");
                    if (_client.IsConnected)
                    {
                        await _client.DisconnectAsync();
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }

            _client.Dispose();
        }
    }

    /// <summary>The cloud application: an MQTTnet client on the cloud endpoint (TLS, an API token as password).</summary>
    private sealed class Cloud : IAsyncDisposable
    {
        private readonly IMqttClient _client;
        private readonly List<(string? MessageId, int Seq, bool Dup, long ArrivedTicks)> _received = [];

        private Cloud(IMqttClient client) => _client = client;

        public static async Task<Cloud> ConnectAsync(int port, string caFile, string apiToken)
        {
            var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
            var client = new MqttClientFactory().CreateMqttClient();
            var cloud = new Cloud(client);
            client.ApplicationMessageReceivedAsync += e =>
            {
                cloud.Add(e.ApplicationMessage);
                return Task.CompletedTask;
            };
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port)
                .WithCredentials("cloud", apiToken)
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithTlsOptions(tls => tls.UseTls().WithCertificateValidationHandler(args =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    return chain.Build(new X509Certificate2(args.Certificate));
                }))
                .Build();
            await client.ConnectAsync(options);
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("sites/p1/readings", MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return cloud;
        }

        /// <summary>First arrivals in order, gaps, and duplicates with or without a mark.</summary>
        public Analysis Analyze()
        {
            lock (_received)
            {
                var firsts = new List<int>();
                var seen = new HashSet<int>();
                var ids = new HashSet<string>(StringComparer.Ordinal);
                int marked = 0, unmarked = 0;
                foreach (var (id, seq, dup, _) in _received)
                {
                    var sameId = id is not null && !ids.Add(id);
                    if (seen.Add(seq))
                    {
                        firsts.Add(seq);
                    }
                    else if (dup || sameId)
                    {
                        marked++;
                    }
                    else
                    {
                        unmarked++;
                    }
                }

                var max = firsts.Count == 0 ? -1 : firsts.Max();
                var missing = Enumerable.Range(0, max + 1).Where(i => !seen.Contains(i)).Take(10);
                return new Analysis(_received.Count, firsts, max + 1 - seen.Count, marked, unmarked, string.Join(", ", missing));
            }
        }

        /// <summary>When sequence number <paramref name="seq"/> first arrived, on the test's clock.</summary>
        public TimeSpan ArrivalOf(int seq, Stopwatch clock)
        {
            lock (_received)
            {
                var ticks = _received.First(r => r.Seq == seq).ArrivedTicks;
                return clock.Elapsed - Stopwatch.GetElapsedTime(ticks);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }

            _client.Dispose();
        }

        private void Add(MqttApplicationMessage message)
        {
            var property = message.UserProperties?.FirstOrDefault(p => p.Name == "verge-message-id");
            var id = property is null ? null : Encoding.UTF8.GetString(property.ValueBuffer.Span);
            using var json = JsonDocument.Parse(message.Payload);
            var seq = json.RootElement.GetProperty("seq").GetInt32();
            var dup = json.RootElement.GetProperty("dup").GetBoolean();
            lock (_received)
            {
                _received.Add((id, seq, dup, Stopwatch.GetTimestamp()));
            }
        }
    }

    private sealed record Analysis(int Received, List<int> Firsts, int Gaps, int MarkedDuplicates, int UnmarkedDuplicates, string FirstMissing)
    {
        public override string ToString() =>
            $"received {Received}, distinct {Firsts.Count}, gaps {Gaps} (first missing: {FirstMissing}), marked duplicates {MarkedDuplicates}, unmarked duplicates {UnmarkedDuplicates}";
    }
}
