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
/// The MQTT features devices lean on beyond a plain publish: QoS 2, will messages, persistent sessions and
/// keep-alive, each against the gateway's broker with device authentication and topic ACLs on.
/// </summary>
public sealed class BrokerSessionTests
{
    private static FakeGatewayState OneDevice() => new FakeGatewayState().AddDevice("d1", "pw1");

    [Fact]
    public async Task Publish_AtQos2_IsDeliveredExactlyOnceAtQos2()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var sub = await gw.ConnectAsync("app", "app-secret");
        var received = new ConcurrentQueue<(string Payload, MqttQualityOfServiceLevel Qos)>();
        sub.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue((e.ApplicationMessage.ConvertPayloadToString(), e.ApplicationMessage.QualityOfServiceLevel));
            return Task.CompletedTask;
        };
        await sub.SubscribeAsync("devices/d1/telemetry", MqttQualityOfServiceLevel.ExactlyOnce);
        using var device = await gw.ConnectAsync("d1", "pw1", MqttProtocolVersion.V311);

        foreach (var payload in new[] { "a", "b" })
        {
            var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/telemetry").WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.ExactlyOnce).Build());
            Assert.True(result.IsSuccess, result.ReasonString);
        }

        // "b" arrives after "a": once it is here, a duplicate of "a" would have been too.
        await Tools.Eventually(() => received.Any(m => m.Payload == "b"), "the second message");
        Assert.Equal([("a", MqttQualityOfServiceLevel.ExactlyOnce), ("b", MqttQualityOfServiceLevel.ExactlyOnce)], received.ToArray());
    }

    [Fact]
    public async Task Will_OfADeviceWhoseConnectionDrops_IsPublishedToSubscribers()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var sub = await gw.ConnectAsync("app", "app-secret");
        var received = new ConcurrentQueue<string>();
        sub.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue(e.ApplicationMessage.Topic + "|" + e.ApplicationMessage.ConvertPayloadToString());
            return Task.CompletedTask;
        };
        await sub.SubscribeAsync("devices/d1/status", MqttQualityOfServiceLevel.AtLeastOnce);

        // A device connects with a will, then its connection drops without a DISCONNECT.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(IPAddress.Loopback, gw.MqttPort);
            var stream = socket.GetStream();
            await stream.WriteAsync(Connect("d1-will", "d1", "pw1", keepAliveSeconds: 60, will: ("devices/d1/status", "offline")));
            var connack = new byte[4];
            await stream.ReadExactlyAsync(connack);
            Assert.Equal(new byte[] { 0x20, 0x02, 0x00, 0x00 }, connack);
        }

        await Tools.Eventually(() => received.Contains("devices/d1/status|offline"), "the device's will");
    }

    [Fact]
    public async Task PersistentSession_KeepsSubscriptionAndQueuesQos1WhileAway_AndDeliversOnReconnect()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", gw.MqttPort)
            .WithClientId("d1-persistent")
            .WithCredentials("d1", "pw1")
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithCleanSession(false)
            .Build();
        using (var first = new MqttClientFactory().CreateMqttClient())
        {
            await first.ConnectAsync(options);
            await first.SubscribeAsync("devices/d1/commands/#", MqttQualityOfServiceLevel.AtLeastOnce);
            await first.DisconnectAsync();
        }

        using var app = await gw.ConnectAsync("app", "app-secret");
        await app.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/d1/commands/reboot").WithPayload("now")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        using var again = new MqttClientFactory().CreateMqttClient();
        var received = new ConcurrentQueue<string>();
        again.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue(e.ApplicationMessage.Topic + "|" + e.ApplicationMessage.ConvertPayloadToString());
            return Task.CompletedTask;
        };
        var result = await again.ConnectAsync(options);

        Assert.True(result.IsSessionPresent);
        await Tools.Eventually(() => received.Contains("devices/d1/commands/reboot|now"), "the command queued while the device was away");
    }

    [Fact]
    public async Task KeepAlive_ClientThatFallsSilent_IsDisconnectedByTheBroker()
    {
        await using var gw = await GatewayHarness.StartAsync(OneDevice());
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, gw.MqttPort);
        var stream = socket.GetStream();

        // MQTT 3.1.1 CONNECT: clean session, user name and password, keep-alive 1 s; then nothing more.
        await stream.WriteAsync(Connect("ka-1", "d1", "pw1", keepAliveSeconds: 1));
        var connack = new byte[4];
        await stream.ReadExactlyAsync(connack);
        Assert.Equal(new byte[] { 0x20, 0x02, 0x00, 0x00 }, connack);

        // The broker closes a connection silent for 1.5 keep-alive periods: the read ends (0 bytes or a reset). The
        // deadline only bounds a broken broker; it is not the figure under test.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var closed = false;
        try
        {
            closed = await stream.ReadAsync(new byte[16], deadline.Token) == 0;
        }
        catch (IOException)
        {
            closed = true;
        }

        Assert.True(closed, "the broker closed the silent connection");
    }

    /// <summary>An MQTT 3.1.1 CONNECT with a clean session, user name and password, and optionally a QoS 1 will.</summary>
    private static byte[] Connect(string clientId, string user, string password, ushort keepAliveSeconds, (string Topic, string Message)? will = null)
    {
        byte flags = will is null ? (byte)0xC2 : (byte)0xCE;
        var body = new List<byte> { 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, flags, (byte)(keepAliveSeconds >> 8), (byte)keepAliveSeconds };
        string[] fields = will is { } w ? [clientId, w.Topic, w.Message, user, password] : [clientId, user, password];
        foreach (var field in fields)
        {
            var bytes = Encoding.UTF8.GetBytes(field);
            body.Add((byte)(bytes.Length >> 8));
            body.Add((byte)bytes.Length);
            body.AddRange(bytes);
        }

        return [0x10, (byte)body.Count, .. body];
    }
}
