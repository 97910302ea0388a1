using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Verge.Gateway.Tests.Support;

namespace Verge.Gateway.Tests.Broker;

/// <summary>
/// The QoS 0 fast path (DirectDelivery) writes encoded PUBLISH packets straight into 3.1.x subscribers' channels;
/// everything else takes MQTTnet's path. Both must deliver the same thing.
/// </summary>
public sealed class DirectDeliveryTests
{
    private static FakeGatewayState OneDevice() => new FakeGatewayState().AddDevice("d1", "pw1");

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Qos0Messages_ReachSubscriberInOrder_WithPayloadsIntact(MqttProtocolVersion version)
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var sub = await gw.ConnectAsync("app", "app-secret", version);
        var received = new ConcurrentQueue<(string Topic, byte[] Payload, bool Retain)>();
        sub.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        await sub.SubscribeAsync("devices/+/telemetry", MqttQualityOfServiceLevel.AtMostOnce);
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        // Sizes around the remaining-length boundaries (1, 2 and 3 bytes) and one payload of 100 KiB.
        var sizes = Enumerable.Range(0, 300).Select(i => i % 3 == 0 ? 0 : i).Concat([125, 126, 127, 128, 16_380, 16_383, 16_384, 100 * 1024]).ToArray();
        foreach (var (size, i) in sizes.Select((s, i) => (s, i)))
        {
            var payload = Enumerable.Range(0, size).Select(b => (byte)(b + i)).ToArray();
            await pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload(payload).Build());
        }

        await Tools.Eventually(() => received.Count >= sizes.Length, $"{sizes.Length} messages");
        var list = received.ToArray();
        Assert.Equal(sizes.Length, list.Length);
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.Equal("devices/d1/telemetry", list[i].Topic);
            Assert.Equal(Enumerable.Range(0, sizes[i]).Select(b => (byte)(b + i)).ToArray(), list[i].Payload);
            Assert.False(list[i].Retain);
        }
    }

    [Fact]
    public async Task RetainedQos0Message_OnSubscribe_KeepsItsRetainFlag_AndLiveOnesDoNot()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);
        await pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/state").WithPayload("kept").WithRetainFlag().Build());
        using var sub = await gw.ConnectAsync("app", "app-secret", MqttProtocolVersion.V311);
        var received = new ConcurrentQueue<(string Payload, bool Retain)>();
        sub.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue((Encoding.UTF8.GetString(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };

        // The retained message may be stored a moment after the publish returns: subscribe again until it arrives.
        await Tools.Eventually(() =>
        {
            if (received.IsEmpty)
            {
                sub.SubscribeAsync("devices/d1/state", MqttQualityOfServiceLevel.AtMostOnce).GetAwaiter().GetResult();
            }

            return !received.IsEmpty;
        }, "the retained message");
        await pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/state").WithPayload("live").Build());
        await Tools.Eventually(() => received.Any(r => r.Payload == "live"), "the live message");

        Assert.Contains(("kept", true), received);
        Assert.Contains(("live", false), received);
    }

    [Fact]
    public async Task Mqtt5Subscriber_GetsUserPropertiesOfQos0Message_WhileA311SubscriberGetsThePayload()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var v5 = await gw.ConnectAsync("app", "app-secret", MqttProtocolVersion.V500);
        using var v3 = await gw.ConnectAsync("app", "app-secret", MqttProtocolVersion.V311);
        var fromV5 = new ConcurrentQueue<MqttApplicationMessage>();
        var fromV3 = new ConcurrentQueue<MqttApplicationMessage>();
        v5.ApplicationMessageReceivedAsync += e =>
        {
            fromV5.Enqueue(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        v3.ApplicationMessageReceivedAsync += e =>
        {
            fromV3.Enqueue(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        await v5.SubscribeAsync("devices/d1/#", MqttQualityOfServiceLevel.AtMostOnce);
        await v3.SubscribeAsync("devices/d1/#", MqttQualityOfServiceLevel.AtMostOnce);
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V500);

        await pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload("{}").WithUserProperty("k", Encoding.UTF8.GetBytes("v").AsMemory()).Build());

        await Tools.Eventually(() => !fromV5.IsEmpty && !fromV3.IsEmpty, "both subscribers");
        var property = Assert.Single(fromV5.Single().UserProperties);
        Assert.Equal("k", property.Name);
        Assert.Equal("v", Encoding.UTF8.GetString(property.ValueBuffer.Span));
        Assert.Equal("{}", Encoding.UTF8.GetString(fromV3.Single().Payload));
    }

    [Fact]
    public async Task SubscriberThatNeverReads_LosesQos0Messages_WhileOthersGetEveryOne()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());

        // A 3.1.1 subscriber on a raw socket that subscribes and then never reads again.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(IPAddress.Loopback, gw.MqttPort);
        await stalled.SendAsync(Connect311("stalled", "app", "app-secret"));
        await ReadExactlyAsync(stalled, 4);
        await stalled.SendAsync(Subscribe311("devices/d1/telemetry"));
        await ReadExactlyAsync(stalled, 5);

        using var reader = await gw.ConnectAsync("app", "app-secret", MqttProtocolVersion.V311);
        var count = 0;
        var last = -1;
        reader.ApplicationMessageReceivedAsync += e =>
        {
            Interlocked.Increment(ref count);
            Volatile.Write(ref last, BitConverter.ToInt32(e.ApplicationMessage.Payload.FirstSpan));
            return Task.CompletedTask;
        };
        await reader.SubscribeAsync("devices/d1/telemetry", MqttQualityOfServiceLevel.AtMostOnce);
        using var pub = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        // 8 MiB in all: far more than the stalled socket's buffers and the 1 MiB the channel keeps pending.
        const int messages = 8 * 1024;
        var payload = new byte[1024];
        for (var i = 0; i < messages; i++)
        {
            BitConverter.TryWriteBytes(payload, i);
            await pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload(payload).Build());
            if (i % 256 == 255)
            {
                // Keep the reading subscriber well inside its own bound, however slow the machine.
                var sent = i + 1;
                await Tools.Eventually(() => Volatile.Read(ref count) >= sent, $"{sent} messages at the reading subscriber", seconds: 60);
            }
        }

        await Tools.Eventually(() => Volatile.Read(ref last) == messages - 1, "the last message at the reading subscriber", seconds: 60);
        Assert.Equal(messages, Volatile.Read(ref count));
        Assert.True(gw.Module.DirectDropped > 0, "the stalled subscriber's messages beyond its bound are dropped");
    }

    private static byte[] Connect311(string clientId, string user, string password)
    {
        var body = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0xC2, 0, 60 };
        foreach (var text in new[] { clientId, user, password })
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            body.AddRange([(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes]);
        }

        return [0x10, (byte)body.Count, .. body];
    }

    private static byte[] Subscribe311(string filter)
    {
        var bytes = Encoding.UTF8.GetBytes(filter);
        byte[] body = [0, 1, (byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes, 0];
        return [0x82, (byte)body.Length, .. body];
    }

    private static async Task ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.True(n > 0, "the broker closed the connection");
            read += n;
        }
    }
}
