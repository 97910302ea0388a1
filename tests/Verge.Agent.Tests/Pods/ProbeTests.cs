using System.Net;
using System.Net.Sockets;
using Verge.Agent.Drivers;
using Verge.Agent.Pods;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class ProbeTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static Probe Exec(string command, int period = 10, int failureThreshold = 3, int initialDelay = 0) => new()
    {
        Exec = new ExecAction { Command = [command] },
        PeriodSeconds = period,
        FailureThreshold = failureThreshold,
        InitialDelaySeconds = initialDelay,
    };

    [Fact]
    public async Task LivenessFailure_RestartsContainer_WithUnhealthyAndKillingEvents()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("live", "Always", new Container { Name = "app", Image = "busybox:1", LivenessProbe = Exec("check") });
        host.Driver.ExecResults["check"] = new ExecResult(1, "not alive", false);
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");

        await host.AdvanceUntil(() => host.Container(pod)?.RestartCount == 1, Second, "restarted after 3 failed probes");

        var unhealthy = host.Publisher.Events.Where(e => e.Reason == "Unhealthy").ToList();
        Assert.True(unhealthy.Count >= 3);
        Assert.Equal("Liveness probe failed: not alive", unhealthy[0].Message);
        Assert.Contains(host.Publisher.Events, e => e.Reason == "Killing" && e.Message == "Container app failed liveness probe, will be restarted");
        Assert.Single(host.Driver.Stops);
        Assert.Equal(137, host.Container(pod)!.LastState!.Terminated!.ExitCode);
    }

    [Fact]
    public async Task Readiness_SetsReadyConditionFromProbeResults()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("ready", "Always", new Container { Name = "app", Image = "busybox:1", ReadinessProbe = Exec("ready", period: 5, failureThreshold: 1) });
        host.Driver.ExecResults["ready"] = new ExecResult(1, "", false);
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => !host.Driver.ExecCommands.IsEmpty, "first readiness probe");
        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Running", "running");
        Assert.Equal("False", host.Status(pod)!.Conditions!.Single(c => c.Type == "Ready").Status);
        Assert.Equal("containers with unready status: [app]", host.Status(pod)!.Conditions!.Single(c => c.Type == "Ready").Message);

        host.Driver.ExecResults["ready"] = new ExecResult(0, "", false);
        await host.AdvanceUntil(() => host.Status(pod)?.Conditions?.Single(c => c.Type == "Ready").Status == "True", Second, "Ready");
        Assert.True(host.Container(pod)!.Ready);
        Assert.Equal("True", host.Status(pod)!.Conditions!.Single(c => c.Type == "ContainersReady").Status);

        host.Driver.ExecResults["ready"] = new ExecResult(1, "", false);
        await host.AdvanceUntil(() => host.Status(pod)?.Conditions?.Single(c => c.Type == "Ready").Status == "False", Second, "unready again");
        Assert.Equal(0, host.Container(pod)!.RestartCount);
    }

    [Fact]
    public async Task StartupProbe_GatesLivenessAndReadiness_UntilItSucceeds()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("slow", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1",
            StartupProbe = Exec("startup", period: 5, failureThreshold: 30),
            LivenessProbe = Exec("live", period: 5),
            ReadinessProbe = Exec("ready", period: 5),
        });
        host.Driver.ExecResults["startup"] = new ExecResult(1, "", false);
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => !host.Driver.ExecCommands.IsEmpty, "startup probe ran");
        await host.AdvanceUntil(() => host.Driver.ExecCommands.Count >= 4, Second, "several startup probes");

        Assert.All(host.Driver.ExecCommands, c => Assert.Equal("startup", c.Command));
        Assert.False(host.Container(pod)!.Started);
        Assert.False(host.Container(pod)!.Ready);

        host.Driver.ExecResults["startup"] = new ExecResult(0, "", false);
        await host.AdvanceUntil(() => host.Container(pod)?.Ready == true, Second, "ready once started");
        Assert.True(host.Container(pod)!.Started);
        Assert.Contains(host.Driver.ExecCommands, c => c.Command == "live");
    }

    [Fact]
    public async Task StartupProbeFailure_KillsAndRestartsTheContainer()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("neverup", "Always", new Container { Name = "app", Image = "busybox:1", StartupProbe = Exec("startup", period: 1, failureThreshold: 2) });
        host.Driver.ExecResults["startup"] = new ExecResult(1, "still booting", false);
        await host.ApplyAsync(pod);

        await host.AdvanceUntil(() => host.Container(pod)?.RestartCount == 1, Second, "restart after startup failures");
        Assert.Contains(host.Publisher.Events, e => e.Reason == "Killing" && e.Message!.Contains("failed startup probe"));
    }

    [Fact]
    public async Task HttpProbe_SucceedsOn2xxAndFailsOn5xx_WithHeaders()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var seen = new List<string>();
        var server = Task.Run(async () =>
        {
            for (var i = 0; i < 2; i++)
            {
                using var client = await listener.AcceptTcpClientAsync();
                using var stream = client.GetStream();
                var buffer = new byte[4096];
                var n = await stream.ReadAsync(buffer);
                var request = System.Text.Encoding.ASCII.GetString(buffer, 0, n);
                lock (seen)
                {
                    seen.Add(request);
                }

                var status = request.StartsWith("GET /healthz", StringComparison.Ordinal) ? "200 OK" : "503 Service Unavailable";
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
            }
        });
        var container = new Container { Name = "app", Ports = [new ContainerPort { Name = "http", Port = port }] };
        var ok = ProbeSettings.From(new Probe { HttpGet = new HttpGetAction { Path = "/healthz", Port = "http", HttpHeaders = [new HttpHeader { Name = "X-Check", Value = "1" }] }, TimeoutSeconds = 5 }, ProbeKind.Liveness);
        var bad = ProbeSettings.From(new Probe { HttpGet = new HttpGetAction { Path = "/broken", Port = port }, TimeoutSeconds = 5 }, ProbeKind.Liveness);
        var handle = new TaskHandle("fake", "x", "", DateTimeOffset.UnixEpoch);

        var good = await ProbeRunner.RunAsync(ok, container, new Fakes.FakeDriver(), handle, "127.0.0.1", CancellationToken.None);
        var failed = await ProbeRunner.RunAsync(bad, container, new Fakes.FakeDriver(), handle, "127.0.0.1", CancellationToken.None);
        await server;

        Assert.True(good.Success, good.Output);
        Assert.False(failed.Success);
        Assert.Equal("HTTP probe failed with statuscode: 503", failed.Output);
        Assert.Contains("X-Check: 1", seen[0]);
    }

    [Fact]
    public async Task TcpProbe_SucceedsWhenThePortAccepts_AndFailsWhenClosed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var handle = new TaskHandle("fake", "x", "", DateTimeOffset.UnixEpoch);
        var settings = ProbeSettings.From(new Probe { TcpSocket = new TcpSocketAction { Port = port }, TimeoutSeconds = 5 }, ProbeKind.Readiness);

        var open = await ProbeRunner.RunAsync(settings, new Container { Name = "app" }, new Fakes.FakeDriver(), handle, "127.0.0.1", CancellationToken.None);
        listener.Stop();
        var closed = await ProbeRunner.RunAsync(settings, new Container { Name = "app" }, new Fakes.FakeDriver(), handle, "127.0.0.1", CancellationToken.None);

        Assert.True(open.Success, open.Output);
        Assert.False(closed.Success);
    }

    [Fact]
    public void ProbeSettings_ApplyKubernetesDefaults()
    {
        var settings = ProbeSettings.From(new Probe { Exec = new ExecAction { Command = ["x"] } }, ProbeKind.Liveness);

        Assert.Equal(TimeSpan.Zero, settings.InitialDelay);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Period);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Timeout);
        Assert.Equal(1, settings.SuccessThreshold);
        Assert.Equal(3, settings.FailureThreshold);
    }
}
