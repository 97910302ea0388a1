using Microsoft.Extensions.Logging.Abstractions;
using Verge.Core.Edge;
using Verge.Gateway.Pipeline;
using Verge.Gateway.Upstream;

namespace Verge.Gateway.Tests.Pipeline;

public sealed class RulePipelineTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("verge-pipeline-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task SetRules_ReturnsTheTopicFiltersOfTheRulesThatRun_ParsingAStatementOnlyWhenItChanges()
    {
        await using var queue = DurableQueue.Open(new DurableQueueOptions { Directory = _directory, GatewayId = "gw1" }, TimeProvider.System);
        using var http = new HttpClient();
        await using var pipeline = new RulePipeline(
            new GatewayOptions { QueueDirectory = _directory }, (_, _, _) => Task.CompletedTask, queue, () => { }, http, new GatewayCounters(), TimeProvider.System, NullLogger.Instance);
        DataRule[] rules =
        [
            Rule("telemetry", "SELECT temp FROM 'devices/+/telemetry'"),
            Rule("off", "SELECT * FROM 'alarms/#'", enabled: false),
            Rule("broken", "SELECT FROM"),
        ];

        var first = pipeline.SetRules(rules);
        var again = pipeline.SetRules(rules);
        rules[0] = Rule("telemetry", "SELECT temp FROM 'devices/+/status'");
        var changed = pipeline.SetRules(rules);

        Assert.Equal(["devices/+/telemetry"], first.Select(f => f.Text));
        Assert.Same(first[0], again[0]);
        Assert.Equal(["devices/+/status"], changed.Select(f => f.Text));
        Assert.Empty(pipeline.SetRules([]));
    }

    private static DataRule Rule(string name, string statement, bool enabled = true) => new()
    {
        Metadata = new() { Name = name, Namespace = "default" },
        Spec = new DataRuleSpec { Statement = statement, Enabled = enabled, Actions = [new DataRuleAction { Republish = new MqttTopicAction { Topic = "local/out" } }] },
    };
}
