using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// The seed's sequence diagram with real processes and real MQTT clients: a device (mosquitto_pub) sends data to the
/// gateway (`verge agent --gateway`); a DataRule processes it locally; the processed data reaches the cloud
/// application (mosquitto_sub on `verge server --mqtt-listen`); the cloud answers with a command (mosquitto_pub),
/// which the gateway delivers to the device (mosquitto_sub).
/// </summary>
public sealed class GatewaySequenceTests : IAsyncLifetime
{
    private const string Objects = """
        apiVersion: v1
        kind: Secret
        metadata: {name: sensor-1-creds}
        stringData: {password: s3cret}
        ---
        apiVersion: edge.verge.dev/v1
        kind: Device
        metadata: {name: sensor-1}
        spec: {protocol: mqtt, credentialsSecret: sensor-1-creds, nodeName: gw-e2e}
        ---
        apiVersion: edge.verge.dev/v1
        kind: DataRule
        metadata: {name: temp-avg}
        spec:
          nodeSelector: {verge.dev/site: s1}
          statement: >
            SELECT topic(2) AS deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp, count(*) AS n
            FROM 'devices/+/telemetry' WHERE temp > -40 GROUP BY topic(2), TUMBLING(2s)
          actions:
          - republish: {topic: local/temp-avg}
          - upstream: {topic: sites/s1/temp-avg}
        """;

    private readonly int _cloudPort = ServerProcess.FreePort(IPAddress.Loopback);
    private readonly int _devicePort = ServerProcess.FreePort(IPAddress.Loopback);
    private readonly string _agentDir = Directory.CreateTempSubdirectory("verge-e2e-gw-").FullName;
    private ServerProcess _server = null!;
    private AgentProcess? _agent;

    public async Task InitializeAsync()
    {
        EdgeTools.Require("mosquitto_pub", "mosquitto-clients");
        EdgeTools.Require("mosquitto_sub", "mosquitto-clients");
        _server = new ServerProcess(extraArgs: ["--mqtt-listen", $"127.0.0.1:{_cloudPort}"]);
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        await AgentProcess.CleanUpAsync(_agentDir);
        await _server.DisposeAsync();
        _server.DeleteData();
    }

    [Fact]
    public async Task DeviceData_IsProcessedLocally_ReachesTheCloud_AndTheCloudsCommandReachesTheDevice()
    {
        var joinToken = (await VergeAsync("token", "create", "--kubeconfig", _server.Kubeconfig)).Trim();
        var apiToken = (await VergeAsync("token", "create", "--usage", "api", "--kubeconfig", _server.Kubeconfig)).Trim();
        var caFile = Path.Combine(_server.DataDir, "pki", "ca.crt");
        _agent = AgentProcess.Start(_agentDir, [
            "--server", _server.Url, "--token", joinToken, "--name", "gw-e2e", "--site", "s1", "--gateway", "--max-pods", "0",
            "--mqtt-listen", $"127.0.0.1:{_devicePort}", "--ingest-listen", "off"]);
        await _agent.WaitForLineAsync("is in sync", TimeSpan.FromSeconds(90));
        var applied = await new Kubectl(_server).RunWithInputAsync(Objects, "apply", "-f", "-");
        Assert.True(applied.ExitCode == 0, applied.Stderr);

        // The device's credentials and the rule arrive over the node channel; the device can connect once they have.
        string[] device = ["-h", "127.0.0.1", "-p", $"{_devicePort}", "-u", "sensor-1", "-P", "s3cret"];
        string[] cloud = ["-h", "127.0.0.1", "-p", $"{_cloudPort}", "--cafile", caFile, "-u", "cloud", "-P", apiToken];
        await EdgeTools.EventuallyAsync(
            async () => (await EdgeTools.ExecAsync("mosquitto_pub", [.. device, "-t", "devices/sensor-1/twin/reported", "-m", "{}"])).ExitCode == 0
                && _agent.Output.Contains("Data rule default/temp-avg loaded", StringComparison.Ordinal) ? "ready" : null,
            TimeSpan.FromSeconds(60),
            () => Task.FromResult(_agent.Output));

        await using var cloudSubscriber = await Subscriber.StartAsync([.. cloud, "-t", "sites/s1/temp-avg"]);
        await using var deviceSubscriber = await Subscriber.StartAsync([.. device, "-t", "devices/sensor-1/commands/#"]);

        foreach (var temp in new[] { "21", "23", "25", "-50" })
        {
            await EdgeTools.RunAsync("mosquitto_pub", [.. device, "-q", "1", "-t", "devices/sensor-1/telemetry", "-m", $"{{\"temp\": {temp}}}"]);
        }

        // Windows are aligned to the clock, so the three readings the rule keeps may close in one window or in two;
        // either way, together they must average 23 with a maximum of 25 (-50 filtered out).
        var (sum, max, n) = (0.0, double.MinValue, 0);
        while (n < 3)
        {
            var processed = await cloudSubscriber.MessageAsync(TimeSpan.FromSeconds(60));
            Assert.StartsWith("sites/s1/temp-avg ", processed, StringComparison.Ordinal);
            var output = JsonNode.Parse(processed["sites/s1/temp-avg ".Length..])!;
            Assert.Equal("sensor-1", output["deviceId"]!.GetValue<string>());
            var count = output["n"]!.GetValue<int>();
            (sum, max, n) = (sum + (output["avgTemp"]!.GetValue<double>() * count), Math.Max(max, output["maxTemp"]!.GetValue<double>()), n + count);
        }

        Assert.Equal((23.0, 25.0, 3), (sum / n, max, n));

        await EdgeTools.RunAsync("mosquitto_pub", [.. cloud, "-q", "1", "-t", "devices/sensor-1/commands/set-interval", "-m", "{\"ack\":true,\"interval\":10}"]);
        var command = await deviceSubscriber.MessageAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("devices/sensor-1/commands/set-interval {\"ack\":true,\"interval\":10}", command);
    }

    private static Task<string> VergeAsync(params string[] args) =>
        EdgeTools.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "verge.dll"), .. args]);

    /// <summary>A mosquitto_sub that reads messages until disposed, ready once its broker has acknowledged the subscription.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _messages = Channel.CreateUnbounded<string>();
        private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly StringBuilder _log = new();

        private Subscriber(Process process) => _process = process;

        public static async Task<Subscriber> StartAsync(IEnumerable<string> args)
        {
            // Line-buffered, or mosquitto_sub holds its output in a pipe buffer until it exits.
            var info = new ProcessStartInfo("stdbuf") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "-oL", "mosquitto_sub" }.Concat(args).Concat(["-v", "-d"]))
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start mosquitto_sub");
            var subscriber = new Subscriber(process);
            process.OutputDataReceived += (_, e) => subscriber.Line(e.Data);
            process.ErrorDataReceived += (_, e) => subscriber.Line(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await subscriber._subscribed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return subscriber;
        }

        public async Task<string> MessageAsync(TimeSpan timeout)
        {
            try
            {
                return await _messages.Reader.ReadAsync().AsTask().WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                lock (_log)
                {
                    Assert.Fail($"no message within {timeout.TotalSeconds} s; mosquitto_sub said: {_log}");
                }

                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private void Line(string? line)
        {
            if (line is null)
            {
                _subscribed.TrySetException(new InvalidOperationException($"mosquitto_sub ended before subscribing: {_log}"));
                return;
            }

            lock (_log)
            {
                _log.AppendLine(line);
            }

            // With -d, mosquitto_sub prints its protocol exchange ("Client ... received SUBACK", "... received
            // PUBLISH ..."); the message itself is the one line that is not part of it.
            if (line.Contains("received SUBACK", StringComparison.Ordinal))
            {
                _subscribed.TrySetResult();
            }
            else if (!line.StartsWith("Client ", StringComparison.Ordinal) && !line.StartsWith("Subscribed", StringComparison.Ordinal))
            {
                _messages.Writer.TryWrite(line);
            }
        }
    }
}
