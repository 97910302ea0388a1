using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Verge.Core.Edge;
using Verge.Gateway.Tests.Support;

namespace Verge.Gateway.Tests;

public sealed class GatewayModuleTests
{
    private static FakeGatewayState TwoDevices() => new FakeGatewayState().AddDevice("d1", "pw1").AddDevice("d2", "pw2");

    [Fact]
    public async Task Publish_FromDeviceWithZeroLengthClientId_ReachesLocalSubscriberAtQos1()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());
        using var sub = Tools.Sub(gw.MqttPort, "app", "app-secret", "devices/d1/telemetry", 1, "-q", "1");
        await gw.WaitSubscribed("devices/d1/telemetry");

        // mosquitto_pub sends a zero-length client id with a clean session by default.
        var pub = await Tools.Pub(gw.MqttPort, "d1", "pw1", "devices/d1/telemetry", "{\"temp\":21}", "-q", "1");

        Assert.True(pub.Exit == 0, pub.Err);
        var (exit, output, _) = await sub.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exit);
        Assert.Equal("{\"temp\":21}", output.Trim());
    }

    [Fact]
    public async Task Connect_WithMqtt5AndZeroLengthClientId_IsAssignedAnId()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());

        var pub = await Tools.Pub(gw.MqttPort, "d1", "pw1", "devices/d1/telemetry", "{}", "-V", "5", "-q", "2");

        Assert.True(pub.Exit == 0, pub.Err);
    }

    [Theory]
    [InlineData("d1", "wrong")]
    [InlineData("nobody", "pw1")]
    [InlineData("app", "pw1")]
    public async Task Connect_WithWrongCredentialsOrUnknownDevice_IsRefusedNotAuthorized(string user, string password)
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());

        var pub = await Tools.Pub(gw.MqttPort, user, password, $"devices/{user}/telemetry", "{}");

        Assert.NotEqual(0, pub.Exit);
        Assert.Contains("not authori", pub.Err, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, gw.Module.Counters.AuthRefused);
    }

    [Fact]
    public async Task Publish_UnderAnotherDevicesTopic_IsRefusedAndCounted()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());
        using var client = await gw.ConnectAsync("d1", "pw1");

        var refused = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d2/telemetry").WithPayload("{}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var outside = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("other/topic").WithPayload("{}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var own = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload("{}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, outside.ReasonCode);
        Assert.True(own.IsSuccess);
        Assert.Equal(2, gw.Module.Counters.AclRefused);
    }

    [Fact]
    public async Task Subscribe_OutsideOwnCommandsAndTwin_IsRefusedAndCounted()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());
        using var client = await gw.ConnectAsync("d1", "pw1");

        var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("devices/d1/commands/#")
            .WithTopicFilter("devices/d1/twin/desired")
            .WithTopicFilter("devices/d2/commands/#")
            .WithTopicFilter("devices/+/commands/#")
            .WithTopicFilter("#")
            .Build());

        var codes = result.Items.Select(i => i.ResultCode).ToList();
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, codes[0]);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, codes[1]);
        Assert.All(codes.Skip(2), c => Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, c));
        Assert.Equal(3, gw.Module.Counters.AclRefused);
    }

    [Fact]
    public async Task Subscribe_ToOtherDevicesTopicWithMosquittoSub_GetsNothingFromThem()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());

        // MQTT 5: the SUBACK says "not authorized" and mosquitto_sub gives up.
        var (exit, output, error) = await Tools.Run("mosquitto_sub", "mosquitto-clients", "-h", "127.0.0.1", "-p", gw.MqttPort.ToString(), "-u", "d1", "-P", "pw1", "-t", "devices/d2/telemetry", "-V", "5", "-C", "1", "-W", "10");

        Assert.True(output.Trim().Length == 0, $"exit {exit}: {output} {error}");
        Assert.True(gw.Module.Counters.AclRefused == 1, $"exit {exit}: {output} {error}");
    }

    [Fact]
    public async Task Publish_OversizedPayload_IsRefusedAndOthersKeepPublishing()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices(), o => o with { MaxMessageBytes = 1024 });
        using var client = await gw.ConnectAsync("d1", "pw1");

        var big = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload(new byte[4096]).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var pub = await Tools.Pub(gw.MqttPort, "d2", "pw2", "devices/d2/telemetry", "{\"temp\":1}", "-q", "1");

        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, big.ReasonCode);
        Assert.Equal(1, gw.Module.Counters.Oversized);
        Assert.True(pub.Exit == 0, pub.Err);
    }

    [Fact]
    public async Task MalformedPackets_OnRawSocket_AreDroppedAndTheBrokerKeepsServing()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());
        using var sub = Tools.Sub(gw.MqttPort, "app", "app-secret", "devices/d2/telemetry", 1, "-q", "1");
        await gw.WaitSubscribed("devices/d2/telemetry");

        var garbage = new[]
        {
            new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 },                         // a remaining length over four bytes
            new byte[] { 0x10, 0x05, 0x00, 0x04, (byte)'X', (byte)'Q', (byte)'T' },  // a CONNECT with a bogus protocol name
            Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            new byte[] { 0x30, 0x7F, 0x00 },                                          // a PUBLISH before CONNECT, truncated
        };
        foreach (var bytes in garbage)
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, gw.MqttPort);
            var stream = socket.GetStream();
            await stream.WriteAsync(bytes);
            socket.Client.Shutdown(SocketShutdown.Send);
        }

        var pub = await Tools.Pub(gw.MqttPort, "d2", "pw2", "devices/d2/telemetry", "{\"ok\":true}", "-q", "1");

        Assert.True(pub.Exit == 0, pub.Err);
        var (exit, output, _) = await sub.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exit);
        Assert.Equal("{\"ok\":true}", output.Trim());
    }

    [Fact]
    public async Task Flood_FromOneDevice_IsThrottledAndDoesNotStarveAnother()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices(), o => o with { MessagesPerSecond = 100, MessagesBurst = 10 });
        using var flooder = await gw.ConnectAsync("d1", "pw1");
        using var flood = new CancellationTokenSource();
        var flooding = Task.Run(async () =>
        {
            var message = new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload("{\"temp\":1}").Build();
            while (!flood.IsCancellationRequested)
            {
                try
                {
                    await flooder.PublishAsync(message, flood.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
        await Tools.Eventually(() => gw.Module.Counters.RateLimited > 0, "the flooding device to be throttled");
        using var sub = Tools.Sub(gw.MqttPort, "app", "app-secret", "devices/d2/telemetry", 1, "-q", "1");
        await gw.WaitSubscribed("devices/d2/telemetry");

        var pub = await Tools.Pub(gw.MqttPort, "d2", "pw2", "devices/d2/telemetry", "{\"temp\":2}", "-q", "1");
        var (exit, output, _) = await sub.WaitAsync(TimeSpan.FromSeconds(20));
        await flood.CancelAsync();
        await flooding;

        Assert.True(pub.Exit == 0, pub.Err);
        Assert.Equal(0, exit);
        Assert.Equal("{\"temp\":2}", output.Trim());
    }

    [Fact]
    public async Task Rule_FromTheIssue_RepublishesWindowedAggregateLocally_AndCountsNonJson()
    {
        var state = TwoDevices().SetRule(
            "temp-avg",
            "SELECT topic(2) AS deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp, count(*) AS n FROM 'devices/+/telemetry' WHERE temp > -40 GROUP BY topic(2), TUMBLING(1s)",
            new DataRuleAction { Republish = new MqttTopicAction { Topic = "local/temp-avg" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        using var sub = Tools.Sub(gw.MqttPort, "app", "app-secret", "local/temp-avg", 1, "-q", "1");
        await gw.WaitSubscribed("local/temp-avg");

        // One publisher session sends every line (-l): they fall in one window unless a second boundary splits them.
        using var pub = Tools.Start("mosquitto_pub", "mosquitto-clients", "-h", "127.0.0.1", "-p", gw.MqttPort.ToString(), "-u", "d1", "-P", "pw1", "-t", "devices/d1/telemetry", "-q", "1", "-l");
        await pub.Process.StandardInput.WriteAsync("{\"temp\":20}\n{\"temp\":30}\nnot json\n{\"humidity\":3}\n{\"temp\":-50}\n");
        pub.Process.StandardInput.Close();
        var published = await pub.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(published.Exit == 0, published.Err);

        var (exit, output, _) = await sub.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exit);
        var result = JsonNode.Parse(output)!.AsObject();
        Assert.Equal("d1", (string?)result["deviceId"]);
        Assert.True((int)result["n"]! is 1 or 2);
        var counters = gw.Module.Rules!.Find("temp-avg")!.Counters;
        await Tools.Eventually(() => counters.SkippedNonJson == 1, "the non-JSON payload to be counted");
        Assert.Equal(1, counters.SkippedMissingField);
    }

    [Fact]
    public async Task Rule_ChangedInState_TakesEffectWithoutRestart()
    {
        var state = TwoDevices().SetRule("copy", "SELECT temp FROM 'devices/+/telemetry'", new DataRuleAction { Republish = new MqttTopicAction { Topic = "local/a" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        state.SetRule("copy", "SELECT temp * 2 AS double FROM 'devices/+/telemetry'", new DataRuleAction { Republish = new MqttTopicAction { Topic = "local/b" } });
        state.RaiseChanged();
        await Tools.Eventually(() => gw.Module.Rules!.Find("copy")?.Statement.Text.Contains("double", StringComparison.Ordinal) == true, "the changed rule");
        using var sub = Tools.Sub(gw.MqttPort, "app", "app-secret", "local/b", 1, "-q", "1");
        await gw.WaitSubscribed("local/b");

        var pub = await Tools.Pub(gw.MqttPort, "d1", "pw1", "devices/d1/telemetry", "{\"temp\":4}", "-q", "1");

        Assert.True(pub.Exit == 0, pub.Err);
        var (exit, output, _) = await sub.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exit);
        Assert.Equal(8, (double)JsonNode.Parse(output)!["double"]!);
    }

    [Fact]
    public async Task Rule_UpstreamAction_GoesThroughTheQueueToTheUplinkInOrder()
    {
        var state = TwoDevices().SetRule("up", "SELECT topic(2) AS deviceId, seq FROM 'devices/+/telemetry'", new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/raw" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        gw.Uplink.FailNext = 2;

        using var pub = Tools.Start("mosquitto_pub", "mosquitto-clients", "-h", "127.0.0.1", "-p", gw.MqttPort.ToString(), "-u", "d1", "-P", "pw1", "-t", "devices/d1/telemetry", "-q", "1", "-l");
        await pub.Process.StandardInput.WriteAsync(string.Concat(Enumerable.Range(1, 50).Select(i => $"{{\"seq\":{i}}}\n")));
        pub.Process.StandardInput.Close();
        Assert.Equal(0, (await pub.WaitAsync(TimeSpan.FromSeconds(20))).Exit);

        await Tools.Eventually(() => gw.Uplink.Received.Select(m => m.MessageId).Distinct().Count() == 50, "50 messages upstream");
        var received = gw.Uplink.Received;
        Assert.All(received, m => Assert.Equal("sites/s1/raw", m.Topic));
        var sequences = received.Select(m => (int)JsonNode.Parse(m.Payload.Span)!["seq"]!).ToList();
        Assert.Equal(Enumerable.Range(1, 50), sequences);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => $"gw1:{i}"), received.Select(m => m.MessageId));
        Assert.True(gw.Module.Counters.UpstreamErrors >= 2);
        await Tools.Eventually(() => gw.Module.Queue!.Depth == 0, "the queue to be drained");
    }

    [Fact]
    public async Task Publish_Qos1_IsAcknowledgedOnlyOnceItsUpstreamOutputIsInTheQueue()
    {
        var state = TwoDevices().SetRule("up", "SELECT seq FROM 'devices/+/telemetry'", new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/raw" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        gw.Uplink.Available = false;
        using var device = await gw.ConnectAsync("d1", "pw1");

        for (var i = 1; i <= 20; i++)
        {
            var message = new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload($"{{\"seq\":{i}}}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            var result = await device.PublishAsync(message);

            // The PUBACK came back: the rule's output for this very message is already written and fsynced.
            Assert.True(result.IsSuccess, result.ReasonString);
            Assert.Equal(i, gw.Module.Queue!.LastSequence);
        }

        Assert.Equal(0, gw.Module.Counters.NotDurable);
    }

    [Fact]
    public async Task Publish_Qos1WithManyInFlight_EveryPubAckFollowsItsOwnDurableOutput()
    {
        var state = TwoDevices().SetRule("up", "SELECT seq FROM 'devices/+/telemetry'", new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/raw" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        gw.Uplink.Available = false;
        using var device = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        // 20 in flight: the gateway reads on while earlier messages are being stored, and holds each PUBACK until
        // its own message is durable.
        await AssertEachPubAckFollowsItsDurableOutputAsync(gw, device, messages: 200, inFlight: 20);
    }

    /// <summary>
    /// Publishes {"seq": i} at QoS 1 with <paramref name="inFlight"/> messages in flight and checks that the PUBACK of
    /// message i came when the queue held at least i + 1 messages (one upstream output each, in order).
    /// </summary>
    private static async Task AssertEachPubAckFollowsItsDurableOutputAsync(GatewayHarness gw, IMqttClient device, int messages, int inFlight)
    {
        var queuedAtPubAck = new long[messages];
        var window = new Queue<Task>();
        for (var i = 0; i < queuedAtPubAck.Length; i++)
        {
            var seq = i;
            var message = new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload($"{{\"seq\":{seq}}}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            window.Enqueue(device.PublishAsync(message).ContinueWith(_ => queuedAtPubAck[seq] = gw.Module.Queue!.LastSequence, TaskContinuationOptions.ExecuteSynchronously));
            if (window.Count >= inFlight)
            {
                await window.Dequeue();
            }
        }

        await Task.WhenAll(window);
        Assert.All(Enumerable.Range(0, queuedAtPubAck.Length), i => Assert.True(queuedAtPubAck[i] >= i + 1, $"PUBACK of message {i} came with only {queuedAtPubAck[i]} messages stored"));
        Assert.Equal(0, gw.Module.Counters.NotDurable);
    }

    [Fact]
    public async Task Publish_Qos1_WithoutRules_SkipsThePacketInterceptors_AndARuleAddedLaterHoldsPubAcksUntilDurable()
    {
        var state = TwoDevices();
        await using var gw = await GatewayHarness.StartAsync(state);
        gw.Uplink.Available = false;
        using var device = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);
        var first = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload("{\"seq\":0}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.True(first.IsSuccess, first.ReasonString);
        Assert.False(gw.Module.HoldsAcknowledgements);

        // The rule arrives while the device is connected: from then on each PUBACK follows its own durable output.
        state.SetRule("up", "SELECT seq FROM 'devices/+/telemetry'", new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/raw" } });
        state.RaiseChanged();
        Assert.True(gw.Module.HoldsAcknowledgements);
        await AssertEachPubAckFollowsItsDurableOutputAsync(gw, device, messages: 100, inFlight: 10);
    }

    [Fact]
    public async Task Publish_WithDupFlag_IsVisibleToRulesAsDup()
    {
        var state = TwoDevices().SetRule("up", "SELECT seq, dup() AS dup FROM 'devices/+/telemetry'", new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/raw" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        using var device = await gw.ConnectAsync("d1", "pw1");

        foreach (var dup in new[] { false, true })
        {
            var message = new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload("{\"seq\":7}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            message.Dup = dup;
            await device.PublishAsync(message);
        }

        await Tools.Eventually(() => gw.Uplink.Received.Count == 2, "2 messages upstream");
        Assert.Equal(["{\"seq\":7,\"dup\":false}", "{\"seq\":7,\"dup\":true}"], gw.Uplink.Received.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
    }

    [Fact]
    public async Task Rule_HttpActionWithPodSelector_PostsToTheMatchingPod_AndCountsWhenNoneIsReady()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var sink = new HttpListener();
        sink.Prefixes.Add($"http://127.0.0.1:{port}/");
        sink.Start();
        var pods = new FakeLocalPods();
        var action = new DataRuleAction { Http = new HttpAction { PodSelector = new() { MatchLabels = new() { ["app"] = "sink" } }, Port = port, Path = "/ingest" } };
        var state = TwoDevices().SetRule("to-pod", "SELECT seq FROM 'devices/+/telemetry'", action);
        await using var gw = await GatewayHarness.StartAsync(state, pods: pods);
        using var device = await gw.ConnectAsync("d1", "pw1");

        // No Ready pod yet: counted, not posted, and the gateway keeps serving.
        await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload("{\"seq\":1}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await Tools.Eventually(() => gw.Module.Counters.HttpNoTarget == 1, "the output without a pod to be counted");

        pods.Ready = [new LocalPod("default", "sink-0", new Dictionary<string, string> { ["app"] = "sink" }, "127.0.0.1")];
        var received = sink.GetContextAsync();
        await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload("{\"seq\":2}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        var context = await received.WaitAsync(TimeSpan.FromSeconds(20));
        using var reader = new StreamReader(context.Request.InputStream);
        Assert.Equal("POST", context.Request.HttpMethod);
        Assert.Equal("/ingest", context.Request.Url!.AbsolutePath);
        Assert.Equal("application/json", context.Request.ContentType);
        Assert.Equal("{\"seq\":2}", await reader.ReadToEndAsync());
        context.Response.StatusCode = 204;
        context.Response.Close();
        Assert.Equal(1, gw.Module.Counters.HttpNoTarget);
    }

    [Fact]
    public async Task Rule_Counters_AreExportedPerRuleAndOutcome()
    {
        var state = TwoDevices().SetRule("big", "SELECT seq FROM 'devices/+/telemetry' WHERE seq > 1", new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/raw" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == gw.Meters && instrument.Name == "verge.gateway.rule.messages")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var all = tags.ToArray();
            seen[$"{all.First(t => t.Key == "rule").Value}/{all.First(t => t.Key == "outcome").Value}"] = value;
        });
        listener.Start();
        using var device = await gw.ConnectAsync("d1", "pw1");

        foreach (var payload in new[] { "{\"seq\":1}", "{\"seq\":2}", "not json" })
        {
            await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }

        listener.RecordObservableInstruments();
        Assert.Equal(3, seen["big/matched"]);
        Assert.Equal(1, seen["big/filtered"]);
        Assert.Equal(1, seen["big/emitted"]);
        Assert.Equal(1, seen["big/skipped_non_json"]);
        Assert.Equal(0, seen["big/errors"]);
    }

    [Fact]
    public async Task Twin_DesiredIsRetained_AndRepublishedWhenItChanges()
    {
        var state = new FakeGatewayState().AddDevice("d1", "pw1", new JsonObject { ["rate"] = 5 });
        await using var gw = await GatewayHarness.StartAsync(state);

        var first = await Tools.Run("mosquitto_sub", "mosquitto-clients", "-h", "127.0.0.1", "-p", gw.MqttPort.ToString(), "-u", "d1", "-P", "pw1", "-t", "devices/d1/twin/desired", "-C", "1", "-W", "10");
        state.AddDevice("d1", "pw1", new JsonObject { ["rate"] = 7 });
        state.RaiseChanged();
        await Tools.Eventually(() => gw.Module.Server!.GetRetainedMessageAsync("devices/d1/twin/desired").GetAwaiter().GetResult() is { } m && Encoding.UTF8.GetString(m.Payload).Contains('7'), "the changed desired state");
        var second = await Tools.Run("mosquitto_sub", "mosquitto-clients", "-h", "127.0.0.1", "-p", gw.MqttPort.ToString(), "-u", "d1", "-P", "pw1", "-t", "devices/d1/twin/desired", "-C", "1", "-W", "10");

        Assert.Equal("{\"rate\":5}", first.Out.Trim());
        Assert.Equal("{\"rate\":7}", second.Out.Trim());
    }

    [Fact]
    public async Task Twin_ReportedAndConnection_GoToTheReporter()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());

        var pub = await Tools.Pub(gw.MqttPort, "d1", "pw1", "devices/d1/twin/reported", "{\"firmware\":\"1.2\"}", "-q", "1");

        Assert.True(pub.Exit == 0, pub.Err);
        await Tools.Eventually(() => gw.Reporter.Reports.Any(r => !r.Connected), "the disconnect report");
        var reports = gw.Reporter.Reports;
        Assert.All(reports, r => Assert.Equal(("default", "d1"), (r.Namespace, r.Name)));
        Assert.True(reports[0].Connected);
        var reported = Assert.Single(reports, r => r.ReportedJson is not null);
        Assert.Equal("{\"firmware\":\"1.2\"}", Encoding.UTF8.GetString(reported.ReportedJson!.Value.Span));
    }

    [Fact]
    public async Task Command_FromTheSource_IsDeliveredToTheDevice()
    {
        await using var gw = await GatewayHarness.StartAsync(TwoDevices());
        using var sub = Tools.Sub(gw.MqttPort, "d1", "pw1", "devices/d1/commands/#", 1, "-q", "1", "-v");
        await gw.WaitSubscribed("devices/d1/commands/#");

        gw.Commands.Send(new DeviceCommand("default", "d1", "devices/d1/commands/reboot", Encoding.UTF8.GetBytes("{\"delay\":1}")));
        gw.Commands.Send(new DeviceCommand("default", "d1", "devices/d2/commands/reboot", Encoding.UTF8.GetBytes("{}")));

        var (exit, output, _) = await sub.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exit);
        Assert.Equal("devices/d1/commands/reboot {\"delay\":1}", output.Trim());
    }

    [Fact]
    public async Task HttpIngest_WithDeviceCredentials_EntersThePipelineAsTelemetry()
    {
        var state = TwoDevices().SetRule("copy", "SELECT temp, topic(2) AS device FROM 'devices/+/telemetry'", new DataRuleAction { Republish = new MqttTopicAction { Topic = "local/copy" } });
        await using var gw = await GatewayHarness.StartAsync(state);
        using var sub = Tools.Sub(gw.MqttPort, "app", "app-secret", "local/copy", 1, "-q", "1");
        await gw.WaitSubscribed("local/copy");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gw.IngestPort}") };

        async Task<HttpStatusCode> Post(string device, string user, string password, string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/devices/{device}/telemetry") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await Post("d1", "d1", "wrong", "{\"temp\":1}"));
        Assert.Equal(HttpStatusCode.Forbidden, await Post("d2", "d1", "pw1", "{\"temp\":1}"));
        Assert.Equal(HttpStatusCode.BadRequest, await Post("d1", "d1", "pw1", "not json"));
        Assert.Equal(HttpStatusCode.Accepted, await Post("d1", "d1", "pw1", "{\"temp\":33}"));

        var (exit, output, _) = await sub.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exit);
        Assert.Equal("{\"temp\":33,\"device\":\"d1\"}", output.Trim());
        Assert.Equal(1, gw.Module.Counters.IngestAccepted);
        Assert.Equal(3, gw.Module.Counters.IngestRefused);
    }

    [Fact]
    public void Options_WithBadListenAddress_FailValidationWithAClearMessage()
    {
        var options = new GatewayOptions { QueueDirectory = "/tmp/x", MqttListen = "nohost" };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains("HOST:PORT", error.Message, StringComparison.Ordinal);
    }
}
