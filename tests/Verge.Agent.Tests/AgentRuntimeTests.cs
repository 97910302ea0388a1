using Verge.Agent.Tests.Pods;

namespace Verge.Agent.Tests;

public sealed class AgentRuntimeTests
{
    [Fact]
    public async Task Runtime_RunsPodsAppliedThroughItsDesiredState_AndServesTheirLogs()
    {
        var dir = Directory.CreateTempSubdirectory("verge-runtime-").FullName;
        try
        {
            var driver = new Fakes.FakeDriver("process");
            var publisher = new Fakes.RecordingStatusPublisher();
            await using var runtime = new AgentRuntime(
                new AgentRuntimeOptions { DataDir = dir, NodeName = "node-1", HostIp = "127.0.0.1", DefaultDriver = "process" },
                [driver],
                new Fakes.FakePodNetwork(),
                publisher,
                Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
                TimeProvider.System);
            await runtime.StartAsync(CancellationToken.None);
            var pod = PodTestHost.MakePod("svc");
            var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(pod, Verge.Core.Serialization.VergeJson.Options);

            await runtime.DesiredState.ApplyAsync(new Verge.Agent.Channel.DesiredBatch(1, true, [new Verge.Agent.Channel.DesiredChange(new Verge.Agent.Channel.DesiredKey(Verge.Agent.Channel.DesiredKind.Pod, "default", "svc"), false, 1, json)]), CancellationToken.None);

            await PodTestHost.Eventually(() => publisher.Latest("uid-svc")?.Phase == "Running", "running");
            Assert.Equal("127.0.0.1", publisher.Latest("uid-svc")!.PodIP);
            var text = new System.Text.StringBuilder();
            await foreach (var chunk in runtime.LogSource.ReadAsync(new Verge.Agent.Channel.LogQuery("default", "svc", null, false, null, false, null, null, false), CancellationToken.None))
            {
                text.Append(System.Text.Encoding.UTF8.GetString(chunk.Span));
            }

            Assert.Equal("started uid-svc-app-0\n", text.ToString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Runtime_WithAnUnknownDefaultDriver_FailsClearly()
    {
        var error = Assert.Throws<ArgumentException>(() => new AgentRuntime(
            new AgentRuntimeOptions { DataDir = Path.GetTempPath(), NodeName = "n", DefaultDriver = "runc" },
            [new Fakes.FakeDriver("process")],
            new Fakes.FakePodNetwork(),
            new Fakes.RecordingStatusPublisher(),
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
            TimeProvider.System));

        Assert.Contains("The default driver \"runc\" is not among the drivers (process)", error.Message);
    }
}
