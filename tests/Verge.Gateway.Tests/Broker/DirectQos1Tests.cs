using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Verge.Gateway.Broker;
using Verge.Gateway.Tests.Support;

namespace Verge.Gateway.Tests.Broker;

/// <summary>
/// The QoS 1 fast path: live QoS 1 messages to a clean-session MQTT 3.1.1 subscriber on the plain listener go straight
/// into its connection under packet identifiers the connection hands out, MQTTnet's own QoS 1 and 2 packets included.
/// Read on a bare socket, where the identifiers and the acknowledgements are the test's to see and to send.
/// </summary>
public sealed class DirectQos1Tests
{
    private static FakeGatewayState OneDevice() => new FakeGatewayState().AddDevice("d1", "pw1");

    /// <summary>The broker closed the connection: the read ends at the end of the stream, or with a reset.</summary>
    private static async Task AssertClosedAsync(Task read)
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => read);
        Assert.True(e is IOException or System.Net.Sockets.SocketException, $"expected the connection closed, got {e}");
    }

    private static MqttApplicationMessage Message(string topic, byte[] payload, MqttQualityOfServiceLevel qos, bool retain = false) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).WithRetainFlag(retain).Build();

    [Fact]
    public async Task Qos1Messages_ReachACleanSubscriber_InOrder_AsQos1_UnderDistinctIdentifiers_PastMqttnetsSession()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        var acknowledgedInSession = new ConcurrentQueue<ushort>();
        gw.Module.Server!.ClientAcknowledgedPublishPacketAsync += e =>
        {
            acknowledgedInSession.Enqueue(e.PublishPacket.PacketIdentifier);
            return Task.CompletedTask;
        };
        using var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");
        Assert.Equal(1, await sub.SubscribeAsync("devices/d1/telemetry", qos: 1));
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        // Sizes around the remaining-length boundaries (1, 2 and 3 bytes) and one of 100 KiB.
        var sizes = Enumerable.Range(0, 200).Concat([103, 104, 105, 106, 16_360, 16_361, 16_362, 100 * 1024]).ToArray();
        var payloads = sizes.Select((size, i) => Enumerable.Range(0, size).Select(b => (byte)(b + i)).ToArray()).ToArray();
        foreach (var payload in payloads)
        {
            await pub.PublishAsync(Message("devices/d1/telemetry", payload, MqttQualityOfServiceLevel.AtLeastOnce));
        }

        // None acknowledged yet, so every identifier is still in flight and must differ from the others.
        var received = new List<RawPacket>();
        while (received.Count < payloads.Length)
        {
            received.Add(await sub.ReadAsync());
        }

        Assert.All(received, p => Assert.Equal((3, 1, "devices/d1/telemetry"), (p.Type, p.Qos, p.Topic)));
        Assert.Equal(payloads, received.Select(p => p.Payload));
        Assert.DoesNotContain((ushort)0, received.Select(p => p.PacketId));
        Assert.Equal(received.Count, received.Select(p => p.PacketId).Distinct().Count());

        // The fast path, not MQTTnet's session, sent them: acknowledged, none reaches the session. A QoS 2 message
        // (MQTTnet's path) acknowledged after them is the marker that the connection has read every PUBACK before it.
        foreach (var packet in received)
        {
            await sub.PubAckAsync(packet.PacketId);
        }

        await sub.SubscribeAsync("devices/d1/marker", qos: 2, packetId: 2);
        await pub.PublishAsync(Message("devices/d1/marker", [1], MqttQualityOfServiceLevel.ExactlyOnce));
        var marker = await sub.ReadAsync();
        Assert.Equal(2, marker.Qos);
        await sub.PubRecAsync(marker.PacketId);
        await sub.PubCompAsync((await sub.ReadAsync()).PacketId);
        await Tools.Eventually(() => !acknowledgedInSession.IsEmpty, "the marker's acknowledgement in MQTTnet's session");
        Assert.Equal([marker.PacketId], acknowledgedInSession);
        Assert.Equal(0, gw.Module.DirectInFlight("raw-sub"));
    }

    [Fact]
    public async Task SubscriberThatDoesNotAcknowledge_GetsAWindowOfMessages_ThenIsDisconnected()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");
        await sub.SubscribeAsync("devices/d1/telemetry", qos: 1);
        var ids = new ConcurrentQueue<ushort>();
        var reading = Task.Run(async () =>
        {
            while (true)
            {
                ids.Enqueue((await sub.ReadAsync(timeoutSeconds: 120)).PacketId);
            }
        });
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        var sent = 0;
        while (sent < PacketIdWindow.MaxInFlight)
        {
            var batch = Math.Min(200, PacketIdWindow.MaxInFlight - sent);
            await Task.WhenAll(Enumerable.Range(sent, batch).Select(i => pub.PublishAsync(Message("devices/d1/telemetry", BitConverter.GetBytes(i), MqttQualityOfServiceLevel.AtLeastOnce))));
            sent += batch;
        }

        await Tools.Eventually(() => ids.Count == PacketIdWindow.MaxInFlight, $"{PacketIdWindow.MaxInFlight} deliveries", seconds: 60);
        Assert.Equal(PacketIdWindow.MaxInFlight, ids.Distinct().Count());
        Assert.Equal(PacketIdWindow.MaxInFlight, gw.Module.DirectInFlight("raw-sub"));
        Assert.Equal(0, gw.Module.DirectWindowsClosed);

        // One more finds no identifier free: the client is not acknowledging, and its connection is closed.
        await pub.PublishAsync(Message("devices/d1/telemetry", [1], MqttQualityOfServiceLevel.AtLeastOnce));
        await AssertClosedAsync(reading.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, gw.Module.DirectWindowsClosed);
        Assert.Equal(PacketIdWindow.MaxInFlight, ids.Count);
    }

    [Fact]
    public async Task ABurstPastTheConnectionsUnsentBound_GoesToMqttnetsQueue_NothingLost_NothingOvertaken()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");
        await sub.SubscribeAsync("devices/d1/telemetry", qos: 1);
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        // 40 x 200 KiB while the subscriber reads nothing: far past the 1 MiB the connection keeps unsent.
        const int count = 40;
        for (var i = 0; i < count; i++)
        {
            var payload = new byte[200 * 1024];
            Array.Fill(payload, (byte)i);
            await pub.PublishAsync(Message("devices/d1/telemetry", payload, MqttQualityOfServiceLevel.AtLeastOnce));
        }

        var received = new List<RawPacket>();
        while (received.Count < count)
        {
            var packet = await sub.ReadAsync();
            received.Add(packet);
            await sub.PubAckAsync(packet.PacketId);
        }

        Assert.Equal(Enumerable.Range(0, count).Select(i => (byte)i), received.Select(p => p.Payload[0]));
        Assert.All(received, p => Assert.Equal((1, 200 * 1024), (p.Qos, p.Payload.Length)));
        Assert.Equal(count, received.Select(p => p.PacketId).Distinct().Count());
        Assert.Equal(0, gw.Module.DirectDropped);
    }

    [Fact]
    public async Task ASecondConnectionWithTheSameClientId_TakesOver_AndTheFirstOnesEndDoesNotUnregisterIt()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var first = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");
        await first.SubscribeAsync("devices/d1/telemetry", qos: 1);
        using var second = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");
        await AssertClosedAsync(first.ReadAsync());
        await second.SubscribeAsync("devices/d1/telemetry", qos: 1);
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        await pub.PublishAsync(Message("devices/d1/telemetry", [5], MqttQualityOfServiceLevel.AtLeastOnce));
        var packet = await second.ReadAsync();
        Assert.Equal(1, packet.Qos);
        Assert.Equal([5], packet.Payload);
        Assert.Equal(1, gw.Module.DirectInFlight("raw-sub"));
    }

    [Fact]
    public async Task APersistentSession_StaysOnMqttnetsPath_AndGetsItsUnacknowledgedMessageAgainAfterReconnecting()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);
        RawPacket first;
        using (var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "persistent-sub", "app", "app-secret", cleanSession: false))
        {
            await sub.SubscribeAsync("devices/d1/telemetry", qos: 1);
            Assert.Equal(-1, gw.Module.DirectInFlight("persistent-sub"));
            await pub.PublishAsync(Message("devices/d1/telemetry", [42], MqttQualityOfServiceLevel.AtLeastOnce));
            first = await sub.ReadAsync();
            Assert.Equal(1, first.Qos);
        }

        // Gone without acknowledging: the session keeps the message and sends it again on the next connection.
        using var again = await RawMqttClient.ConnectAsync(gw.MqttPort, "persistent-sub", "app", "app-secret", cleanSession: false);
        var resent = await again.ReadAsync();
        Assert.Equal(3, resent.Type);
        Assert.Equal(1, resent.Qos);
        Assert.Equal([42], resent.Payload);
    }

    [Fact]
    public async Task SubscriberWithAQos0Subscription_GetsQos1MessagesAtQos0_UntilItSubscribesAtQos1()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");
        await sub.SubscribeAsync("devices/d1/telemetry", qos: 0);
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        await pub.PublishAsync(Message("devices/d1/telemetry", [1], MqttQualityOfServiceLevel.AtLeastOnce));
        var first = await sub.ReadAsync();
        Assert.Equal((3, 0), (first.Type, first.Qos));
        Assert.Equal([1], first.Payload);

        // The same filter again at QoS 1 replaces the subscription.
        await sub.SubscribeAsync("devices/d1/telemetry", qos: 1, packetId: 2);
        await pub.PublishAsync(Message("devices/d1/telemetry", [2], MqttQualityOfServiceLevel.AtLeastOnce));
        var second = await sub.ReadAsync();
        Assert.Equal((3, 1), (second.Type, second.Qos));
        Assert.Equal([2], second.Payload);
        await pub.PublishAsync(Message("devices/d1/telemetry", [3], MqttQualityOfServiceLevel.AtMostOnce));
        var third = await sub.ReadAsync();
        Assert.Equal((3, 0), (third.Type, third.Qos));
        Assert.Equal([3], third.Payload);
    }

    [Fact]
    public async Task MqttnetsPackets_AndFastPathPackets_ShareOneIdentifierSpace_AndEveryHandshakeCompletes()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        var acknowledged = new ConcurrentQueue<ushort>();
        gw.Module.Server!.ClientAcknowledgedPublishPacketAsync += e =>
        {
            if (e.ClientId == "raw-sub")
            {
                acknowledged.Enqueue(e.PublishPacket.PacketIdentifier);
            }

            return Task.CompletedTask;
        };
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);
        await pub.PublishAsync(Message("devices/d1/state", [0], MqttQualityOfServiceLevel.AtLeastOnce, retain: true));
        using var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");

        // The retained message comes on MQTTnet's path after the SUBACK; it may be stored a moment after the publish
        // returned, so subscribe again until it is there.
        var packets = new List<RawPacket>();
        for (ushort attempt = 1; packets.Count == 0; attempt++)
        {
            await sub.SubscribeAsync("devices/d1/#", qos: 2, packetId: attempt);
            await pub.PublishAsync(Message("devices/d1/marker", [(byte)attempt], MqttQualityOfServiceLevel.AtMostOnce));
            for (var p = await sub.ReadAsync(); p.Topic != "devices/d1/marker"; p = await sub.ReadAsync())
            {
                packets.Add(p);
            }
        }

        // Live QoS 1 (the fast path) and QoS 2 (MQTTnet's path) interleaved.
        for (var i = 0; i < 100; i++)
        {
            await pub.PublishAsync(Message("devices/d1/telemetry", [(byte)i], i % 2 == 0 ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.ExactlyOnce));
        }

        while (packets.Count < 101)
        {
            packets.Add(await sub.ReadAsync());
        }

        Assert.Equal((1, true), (packets[0].Qos, packets[0].Header % 2 == 1));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? 1 : 2), packets.Skip(1).Select(p => p.Qos));
        Assert.Equal(101, packets.Select(p => p.PacketId).Distinct().Count());

        // Acknowledge everything: PUBACK for QoS 1, PUBREC then PUBCOMP for QoS 2.
        foreach (var packet in packets)
        {
            await (packet.Qos == 1 ? sub.PubAckAsync(packet.PacketId) : sub.PubRecAsync(packet.PacketId));
        }

        var released = new List<ushort>();
        while (released.Count < 50)
        {
            var pubrel = await sub.ReadAsync();
            Assert.Equal(6, pubrel.Type);
            released.Add(pubrel.PacketId);
            await sub.PubCompAsync(pubrel.PacketId);
        }

        Assert.Equal(packets.Where(p => p.Qos == 2).Select(p => p.PacketId), released);

        // MQTTnet's session found its own packets (the retained one and the QoS 2 ones) under the identifiers they went out with.
        var mqttnets = packets.Where(p => p.Qos == 2).Select(p => p.PacketId).Prepend(packets[0].PacketId).ToHashSet();
        await Tools.Eventually(() => acknowledged.Count >= mqttnets.Count, $"{mqttnets.Count} acknowledgements in MQTTnet's session");
        Assert.Equal(mqttnets, acknowledged.ToHashSet());

        // Nothing is left in flight: a window's worth more goes through.
        await pub.PublishAsync(Message("devices/d1/telemetry", [7], MqttQualityOfServiceLevel.AtLeastOnce));
        var after = await sub.ReadAsync();
        Assert.Equal(1, after.Qos);
        Assert.Equal([7], after.Payload);
    }

    [Fact]
    public async Task SubscriberBusyAcknowledging_IsNotDisconnectedByItsKeepAlive()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());

        // A keep-alive of 1 s: MQTTnet closes a connection it has heard nothing from for 1.5 s. This client sends
        // nothing but PUBACKs, which the fast path handles below MQTTnet's receive loop.
        using var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret", keepAliveSeconds: 1);
        await sub.SubscribeAsync("devices/d1/telemetry", qos: 1);
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        var started = DateTime.UtcNow;
        var count = 0;
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(4))
        {
            await pub.PublishAsync(Message("devices/d1/telemetry", BitConverter.GetBytes(count), MqttQualityOfServiceLevel.AtLeastOnce));
            var packet = await sub.ReadAsync(timeoutSeconds: 5);
            Assert.Equal((1, count), (packet.Qos, BitConverter.ToInt32(packet.Payload)));
            await sub.PubAckAsync(packet.PacketId);
            count++;

            // Paces the publisher: the test is about time passing with only acknowledgements from the client.
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Mqtt5Publisher_WhoseMessageOnlyTheFastPathDelivered_GetsSuccess_NotNoMatchingSubscribers()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V500);

        var unheard = await pub.PublishAsync(Message("devices/d1/telemetry", [0], MqttQualityOfServiceLevel.AtLeastOnce));
        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, unheard.ReasonCode);

        using var sub = await RawMqttClient.ConnectAsync(gw.MqttPort, "raw-sub", "app", "app-secret");
        await sub.SubscribeAsync("devices/d1/telemetry", qos: 1);
        for (var i = 1; i <= 3; i++)
        {
            var heard = await pub.PublishAsync(Message("devices/d1/telemetry", [(byte)i], MqttQualityOfServiceLevel.AtLeastOnce));
            Assert.Equal(MqttClientPublishReasonCode.Success, heard.ReasonCode);
            var packet = await sub.ReadAsync();
            Assert.Equal(1, packet.Qos);
            Assert.Equal([(byte)i], packet.Payload);
        }

        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, (await pub.PublishAsync(Message("devices/d1/other", [9], MqttQualityOfServiceLevel.AtLeastOnce))).ReasonCode);
    }
}
