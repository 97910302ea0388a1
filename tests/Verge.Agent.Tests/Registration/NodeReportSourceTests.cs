using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Verge.Agent.Registration;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.Agent.Tests.Registration;

/// <summary>The node report keeps its bytes while its content does, so the channel sends it on change, not on every check.</summary>
public sealed class NodeReportSourceTests
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private string _ready = "True";
    private string _line = "3";

    private Node Collect() => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new ObjectMeta { Name = "press-7", Labels = new Dictionary<string, string> { ["line"] = _line } },
        Status = new NodeStatus
        {
            Conditions =
            [
                // As the collector stamps them: the time of the call.
                new NodeCondition { Type = "Ready", Status = _ready, LastHeartbeatTime = _time.GetUtcNow(), LastTransitionTime = _time.GetUtcNow() },
            ],
        },
    };

    private static byte[] Bytes(Node node) => JsonSerializer.SerializeToUtf8Bytes(node, VergeJsonContext.Default.Node);

    private static NodeCondition Ready(Node node) => Assert.Single(node.Status!.Conditions!);

    [Fact]
    public void Current_OfAnUnchangedNode_KeepsItsBytesUntilTheRefreshInterval()
    {
        var source = new NodeReportSource(Collect, _time);
        var first = Bytes(source.Current());

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(first, Bytes(source.Current()));
        _time.Advance(NodeReportSource.RefreshInterval - TimeSpan.FromSeconds(11));
        Assert.Equal(first, Bytes(source.Current()));

        _time.Advance(TimeSpan.FromSeconds(1));
        var refreshed = source.Current();
        Assert.NotEqual(first, Bytes(refreshed));
        Assert.Equal(Start + NodeReportSource.RefreshInterval, Ready(refreshed).LastHeartbeatTime);
        Assert.Equal(Start, Ready(refreshed).LastTransitionTime);
    }

    [Fact]
    public void Current_AfterAChange_IsNewAtOnce_AndTheConditionKeepsItsTransitionTime()
    {
        var source = new NodeReportSource(Collect, _time);
        var first = Bytes(source.Current());

        _time.Advance(TimeSpan.FromSeconds(30));
        _line = "4";
        var changed = source.Current();

        Assert.NotEqual(first, Bytes(changed));
        Assert.Equal(Start.AddSeconds(30), Ready(changed).LastHeartbeatTime);
        Assert.Equal(Start, Ready(changed).LastTransitionTime);
    }

    [Fact]
    public void Current_WhenAConditionChangesStatus_MovesItsTransitionTime()
    {
        var source = new NodeReportSource(Collect, _time);
        source.Current();

        _time.Advance(TimeSpan.FromSeconds(30));
        _ready = "False";
        var notReady = source.Current();
        _time.Advance(TimeSpan.FromSeconds(30));
        var still = source.Current();

        Assert.Equal(Start.AddSeconds(30), Ready(notReady).LastTransitionTime);
        Assert.Equal(Start.AddSeconds(30), Ready(still).LastTransitionTime);
        Assert.Equal(Bytes(notReady), Bytes(still));
    }

    [Fact]
    public void Digest_OfTheCollectedNode_IsTheServersAfterTheJsonRoundTrip_AndIgnoresTheConditionTimes()
    {
        var root = Directory.CreateTempSubdirectory("verge-digest-").FullName;
        try
        {
            var node = NodeInfoCollector.Collect(new NodeInfoOptions
            {
                NodeName = "press-7",
                Site = "plant-a",
                Labels = new Dictionary<string, string> { ["line"] = "3" },
                ExtendedResources = new Dictionary<string, string> { ["verge.dev/camera"] = "2" },
                RuntimeClasses = ["runc", "process"],
                DataDir = root,
                Time = _time,
            });
            var digest = NodeReportDigest.Compute(node);
            var json = Bytes(node);

            // What the server computes: the report as it deserialized it.
            var received = JsonSerializer.Deserialize(json, VergeJsonContext.Default.Node)!;
            Assert.Equal(digest, NodeReportDigest.Compute(received));
            Assert.Equal(json, Bytes(node)); // the node is left as it was

            Ready(received).LastHeartbeatTime = Start.AddHours(1);
            Assert.Equal(digest, NodeReportDigest.Compute(received));
            received.Metadata.Labels!["line"] = "4";
            Assert.NotEqual(digest, NodeReportDigest.Compute(received));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
