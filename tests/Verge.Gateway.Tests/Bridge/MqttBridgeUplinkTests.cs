using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using Verge.Core.Edge;
using Verge.Gateway.Bridge;
using Verge.Gateway.Tests.Support;

namespace Verge.Gateway.Tests.Bridge;

public sealed class MqttBridgeUplinkTests
{
    private static async Task<(IMqttClient Client, ConcurrentQueue<(string Topic, string Payload, string? Id)> Received)> Subscribe(int port, string filter)
    {
        var received = new ConcurrentQueue<(string, string, string?)>();
        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            var message = e.ApplicationMessage;
            var id = message.UserProperties?.Where(p => p.Name == MqttBridgeUplink.MessageIdProperty).Select(p => Encoding.UTF8.GetString(p.ValueBuffer.Span)).FirstOrDefault();
            received.Enqueue((message.Topic, Encoding.UTF8.GetString(message.Payload), id));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
        return (client, received);
    }

    [Fact]
    public async Task Send_ToMosquitto_DeliversInOrderWithMessageIds()
    {
        await using var broker = await Mosquitto.StartAsync();
        var (subscriber, received) = await Subscribe(broker.Port, "cloud/#");
        using var _ = subscriber;
        await using var bridge = new MqttBridgeUplink(new MqttBridgeOptions { Host = "127.0.0.1", Port = broker.Port, TopicPrefix = "cloud/" });

        var batch = Enumerable.Range(1, 200).Select(i => new UplinkMessage($"gw1:{i}", "sites/s1/t", Encoding.UTF8.GetBytes($"{{\"i\":{i}}}"))).ToList();
        await bridge.SendAsync(batch[..100], CancellationToken.None);
        await bridge.SendAsync(batch[100..], CancellationToken.None);

        await Tools.Eventually(() => received.Count == 200, "200 messages at mosquitto");
        var list = received.ToList();
        Assert.All(list, m => Assert.Equal("cloud/sites/s1/t", m.Topic));
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"gw1:{i}"), list.Select(m => m.Id));
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"{{\"i\":{i}}}"), list.Select(m => m.Payload));
    }

    [Fact]
    public async Task Send_WhenBrokerIsDown_ThrowsAndReportsUnavailable()
    {
        await using var bridge = new MqttBridgeUplink(new MqttBridgeOptions { Host = "127.0.0.1", Port = Tools.FreePort(), Timeout = TimeSpan.FromSeconds(2), RetryDelay = TimeSpan.FromMinutes(5) });

        await Assert.ThrowsAnyAsync<Exception>(() => bridge.SendAsync([new UplinkMessage("gw1:1", "t", new byte[] { 1 })], CancellationToken.None));

        Assert.False(bridge.Available);
    }

    [Fact]
    public async Task Gateway_RuleUpstreamThroughTheQueue_ArrivesAtMosquittoViaTheBridge()
    {
        await using var broker = await Mosquitto.StartAsync();
        var (subscriber, received) = await Subscribe(broker.Port, "sites/#");
        using var _ = subscriber;
        await using var bridge = new MqttBridgeUplink(new MqttBridgeOptions { Host = "127.0.0.1", Port = broker.Port, ClientId = "gw1-bridge" });
        var state = new FakeGatewayState().AddDevice("d1", "pw1").SetRule(
            "fwd", "SELECT topic(2) AS deviceId, temp FROM 'devices/+/telemetry' WHERE temp > 0", new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/temp" } });
        await using var gw = await GatewayHarness.StartAsync(state, uplinks: [bridge]);

        var pub = await Tools.Pub(gw.MqttPort, "d1", "pw1", "devices/d1/telemetry", "{\"temp\":12.5}", "-q", "1");

        Assert.True(pub.Exit == 0, pub.Err);
        await Tools.Eventually(() => received.Count == 1, "the rule output at mosquitto");
        var message = Assert.Single(received);
        Assert.Equal("sites/s1/temp", message.Topic);
        Assert.Equal("{\"deviceId\":\"d1\",\"temp\":12.5}", message.Payload);
        Assert.Equal("gw1:1", message.Id);
    }

    [Fact]
    public async Task SequenceDiagram_DeviceDataProcessedLocallyReachesTheCloud_AndTheCloudsCommandReachesTheDevice()
    {
        // The seed's sequence: a device sends data to the gateway; the gateway processes it with a rule; the result
        // goes to the cloud (mosquitto here, through the bridge); a cloud application answers with a command, which
        // the gateway delivers to the device. mosquitto_pub and mosquitto_sub play the device and the cloud app.
        await using var cloud = await Mosquitto.StartAsync();
        await using var bridge = new MqttBridgeUplink(new MqttBridgeOptions { Host = "127.0.0.1", Port = cloud.Port, ClientId = "gw1-bridge" });
        var state = new FakeGatewayState().AddDevice("d1", "pw1").SetRule(
            "temp-avg",
            "SELECT topic(2) AS deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp, count(*) AS n FROM 'devices/+/telemetry' WHERE temp > -40 GROUP BY topic(2), TUMBLING(1s)",
            new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/s1/temp-avg" } });
        await using var gw = await GatewayHarness.StartAsync(state, uplinks: [bridge], commands: bridge);
        await bridge.ConnectAsync(CancellationToken.None);
        using var cloudApp = Tools.Start("mosquitto_sub", "mosquitto-clients", "-h", "127.0.0.1", "-p", cloud.Port.ToString(), "-t", "sites/s1/temp-avg", "-C", "1", "-W", "20", "-q", "1", "-V", "5", "-F", "%p|%P");
        using var device = Tools.Sub(gw.MqttPort, "d1", "pw1", "devices/d1/commands/#", 1, "-q", "1", "-v");
        await gw.WaitSubscribed("devices/d1/commands/#");
        await cloud.WaitSubscribed("sites/s1/temp-avg");

        var sent = await Tools.Pub(gw.MqttPort, "d1", "pw1", "devices/d1/telemetry", "{\"temp\":21.5}", "-q", "1");
        Assert.True(sent.Exit == 0, sent.Err);
        var atCloud = await cloudApp.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(atCloud.Exit == 0, atCloud.Err);
        var parts = atCloud.Out.Trim().Split('|');
        Assert.Equal("{\"deviceId\":\"d1\",\"avgTemp\":21.5,\"maxTemp\":21.5,\"n\":1}", parts[0]);
        Assert.Contains("verge-message-id:gw1:1", parts[1], StringComparison.Ordinal);

        var ack = await Tools.Run("mosquitto_pub", "mosquitto-clients", "-h", "127.0.0.1", "-p", cloud.Port.ToString(), "-t", "devices/d1/commands/setpoint", "-m", "{\"target\":20}", "-q", "1");
        Assert.True(ack.Exit == 0, ack.Err);
        var atDevice = await device.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, atDevice.Exit);
        Assert.Equal("devices/d1/commands/setpoint {\"target\":20}", atDevice.Out.Trim());
    }
}
