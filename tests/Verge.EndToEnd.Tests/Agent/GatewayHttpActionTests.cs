using System.Globalization;
using System.Net;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// The third action end to end: a DataRule's <c>http: {podSelector, port, path}</c> POSTs each output to a
/// Ready pod that the agent runs on the gateway's own node. The pod is a host process (the process driver) running
/// busybox httpd with a CGI script that appends each request body to a file.
/// </summary>
public sealed class GatewayHttpActionTests : IAsyncLifetime
{
    private readonly int _devicePort = ServerProcess.FreePort(IPAddress.Loopback);
    private readonly int _podPort = ServerProcess.FreePort(IPAddress.Loopback);
    private readonly string _agentDir = EdgeTools.TempDir("verge-e2e-gwhttp");
    private readonly string _site = EdgeTools.TempDir("verge-e2e-gwhttp-site");
    private ServerProcess _server = null!;
    private AgentProcess? _agent;

    public async Task InitializeAsync()
    {
        EdgeTools.Require("mosquitto_pub", "mosquitto-clients");
        EdgeTools.Require("busybox", "busybox-static");
        _server = new ServerProcess();
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await new Kubectl(_server).RunAsync("delete", "pod", "sink-0", "--ignore-not-found", "--wait=true", "--timeout=30s");
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        // The pod is a host process: if the agent did not stop it, stop it here (found by its own site directory).
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid)
                && File.Exists(Path.Combine(dir, "cmdline"))
                && await ReadOrEmptyAsync(Path.Combine(dir, "cmdline")) is var cmdline
                && cmdline.Contains("httpd", StringComparison.Ordinal) && cmdline.Contains(_site, StringComparison.Ordinal))
            {
                await EdgeTools.ExecAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
            }
        }

        await AgentProcess.CleanUpAsync(_agentDir);
        EdgeTools.DeleteDir(_site);
        await _server.DisposeAsync();
        _server.DeleteData();
    }

    [Fact]
    public async Task HttpAction_WithPodSelector_PostsRuleOutputsToTheLocalPod()
    {
        var received = Path.Combine(_site, "received.jsonl");
        var cgi = Directory.CreateDirectory(Path.Combine(_site, "cgi-bin")).FullName;
        await File.WriteAllTextAsync(Path.Combine(cgi, "ingest"), $"""
            #!/bin/sh
            head -c "$CONTENT_LENGTH" >> {received}
            echo >> {received}
            printf 'Content-Type: text/plain\r\n\r\nok\n'

            """);
        await EdgeTools.RunAsync("chmod", ["755", Path.Combine(cgi, "ingest")]);
        var busybox = EdgeTools.Require("busybox", "busybox-static");
        var port = _podPort.ToString(CultureInfo.InvariantCulture);
        var objects = $$$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: sensor-1-creds}
            stringData: {password: s3cret}
            ---
            apiVersion: edge.verge.dev/v1
            kind: Device
            metadata: {name: sensor-1}
            spec: {protocol: mqtt, credentialsSecret: sensor-1-creds, nodeName: gw-http}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: sink-0, labels: {app: sink}}
            spec:
              nodeName: gw-http
              runtimeClassName: process
              terminationGracePeriodSeconds: 1
              containers:
              - name: httpd
                image: none
                command: [{{{busybox}}}, httpd, -f, -p, "{{{port}}}", -h, {{{_site}}}]
            ---
            apiVersion: edge.verge.dev/v1
            kind: DataRule
            metadata: {name: to-sink}
            spec:
              nodeSelector: {verge.dev/site: h1}
              statement: SELECT topic(2) AS device, temp * 2 AS doubled FROM 'devices/+/telemetry'
              actions:
              - http: {podSelector: {matchLabels: {app: sink}}, port: {{{port}}}, path: /cgi-bin/ingest}
            """;

        var token = (await VergeAsync("token", "create", "--kubeconfig", _server.Kubeconfig)).Trim();
        _agent = AgentProcess.Start(_agentDir, [
            "--server", _server.Url, "--token", token, "--name", "gw-http", "--site", "h1", "--gateway",
            "--mqtt-listen", $"127.0.0.1:{_devicePort}", "--ingest-listen", "off"]);
        await _agent.WaitForLineAsync("is in sync", TimeSpan.FromSeconds(90));
        var kubectl = new Kubectl(_server);
        var applied = await kubectl.RunWithInputAsync(objects, "apply", "-f", "-");
        Assert.True(applied.ExitCode == 0, applied.Stderr);
        await _agent.WaitForLineAsync("Data rule default/to-sink loaded", TimeSpan.FromSeconds(60));
        await EdgeTools.EventuallyAsync(
            async () => (await kubectl.RunAsync("get", "pod", "sink-0", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")).Stdout == "True" ? "ready" : null,
            TimeSpan.FromSeconds(60),
            async () => (await kubectl.RunAsync("get", "pod", "sink-0", "-o", "yaml")).Stdout + _agent.Output);

        // The device's credentials arrive over the node channel too; publish until one gets through.
        string[] device = ["-h", "127.0.0.1", "-p", $"{_devicePort}", "-u", "sensor-1", "-P", "s3cret", "-q", "1", "-t", "devices/sensor-1/telemetry"];
        var seen = await EdgeTools.EventuallyAsync(
            async () =>
            {
                await EdgeTools.ExecAsync("mosquitto_pub", [.. device, "-m", "{\"temp\": 21}"]);
                return File.Exists(received) && (await File.ReadAllTextAsync(received)).Length > 0 ? await File.ReadAllTextAsync(received) : null;
            },
            TimeSpan.FromSeconds(60),
            () => Task.FromResult(_agent.Output));

        Assert.Equal("{\"device\":\"sensor-1\",\"doubled\":42}", seen.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0]);
    }

    private static async Task<string> ReadOrEmptyAsync(string path)
    {
        try
        {
            return await File.ReadAllTextAsync(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static Task<string> VergeAsync(params string[] args) =>
        EdgeTools.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "verge.dll"), .. args]);
}
