using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.Core.Tests.Serialization;

public sealed class NodeJsonContextTests
{
    private const string NodeDocument = """
        {"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-1","labels":{"verge.dev/site":"plant-1","kubernetes.io/arch":"arm64"}},"spec":{"podCIDR":"10.1.0.0/24","taints":[{"key":"edge","value":"true","effect":"NoSchedule"}]},"status":{"capacity":{"cpu":"4","memory":"8Gi","verge.dev/camera":"2"},"allocatable":{"cpu":"3900m","memory":"7680Mi"},"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"2026-01-02T03:04:05Z","lastTransitionTime":"2026-01-02T03:00:00Z","reason":"AgentReady","message":"the agent is posting ready status"}],"addresses":[{"type":"InternalIP","address":"10.0.0.7"},{"type":"Hostname","address":"edge-1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":10250}},"nodeInfo":{"machineID":"m","systemUUID":"u","bootID":"b","kernelVersion":"6.1.0","osImage":"Debian GNU/Linux 12","containerRuntimeVersion":"runc://1.1.5","kubeletVersion":"verge","kubeProxyVersion":"","operatingSystem":"linux","architecture":"arm64"},"images":[{"names":["busybox:1.36"],"sizeBytes":4261502}]}}
        """;

    private const string EventJson = """
        {"apiVersion":"v1","kind":"Event","metadata":{"name":"web.1","namespace":"default"},"involvedObject":{"kind":"Pod","namespace":"default","name":"web","uid":"u-1","apiVersion":"v1"},"reason":"BackOff","message":"Back-off restarting failed container app in pod web: température +5 °C","source":{"component":"verge-agent","host":"edge-1"},"firstTimestamp":"2026-01-02T03:04:05Z","lastTimestamp":"2026-01-02T03:05:05Z","count":3,"type":"Warning"}
        """;

    private const string ConfigMapJson = """
        {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"default","annotations":{"note":"a<b & \"quoted\" +1 ünïcode"}},"data":{"app.conf":"listen 8080\n"}}
        """;

    private const string SecretJson = """
        {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},"type":"Opaque","data":{"password":"aGk="}}
        """;

    private const string StatusJson = """
        {"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"pods \"x\" is forbidden: node edge-2 cannot read it","reason":"Forbidden","details":{"name":"x","kind":"pods"},"code":403}
        """;

    public static TheoryData<Type, string> Documents => new()
    {
        { typeof(Pod), VergeJsonTests.FullPod },
        { typeof(Node), NodeDocument },
        { typeof(Event), EventJson },
        { typeof(ConfigMap), ConfigMapJson },
        { typeof(Secret), SecretJson },
        { typeof(Status), StatusJson },
        { typeof(Device), VergeJsonTests.DeviceJson },
        { typeof(DataRule), VergeJsonTests.DataRuleJson },
    };

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryKindItLists_ReadsAndWritesAsTheFullContextDoes(Type type, string json)
    {
        // Strict, so that a sample with a field the type lacks fails here instead of testing less than it seems to.
        var value = JsonSerializer.Deserialize(json, VergeJson.StrictOptions.GetTypeInfo(type))!;

        var throughNode = JsonSerializer.Deserialize(json, NodeJson.Options.GetTypeInfo(type))!;
        Assert.Equal(
            JsonSerializer.Serialize(value, VergeJson.Options.GetTypeInfo(type)),
            JsonSerializer.Serialize(throughNode, NodeJson.Options.GetTypeInfo(type)));
        Assert.Equal(
            JsonSerializer.Serialize(value, Contract(VergeJsonContext.Default, type)),
            JsonSerializer.Serialize(throughNode, Contract(NodeJsonContext.Default, type)));
    }

    [Fact]
    public void Options_LeavePlusAndNonAsciiTextUnescaped()
    {
        var map = JsonSerializer.Deserialize(ConfigMapJson, VergeJson.Options.GetTypeInfo(typeof(ConfigMap)))!;
        var written = JsonSerializer.Serialize(map, NodeJson.Options.GetTypeInfo(typeof(ConfigMap)));
        Assert.Contains("+1 ünïcode", written, StringComparison.Ordinal);
    }

    [Fact]
    public void ControlPlaneKinds_AreLeftOut()
    {
        Assert.Null(NodeJsonContext.Default.GetTypeInfo(typeof(Deployment)));
        Assert.Null(NodeJsonContext.Default.GetTypeInfo(typeof(ReplicaSet)));
        Assert.Null(NodeJsonContext.Default.GetTypeInfo(typeof(Namespace)));
    }

    private static JsonTypeInfo Contract(System.Text.Json.Serialization.JsonSerializerContext context, Type type) =>
        context.GetTypeInfo(type) ?? throw new InvalidOperationException($"{context.GetType().Name} has no contract for {type.Name}");
}
