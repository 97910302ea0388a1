using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.ApiServer.Registry;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Patching;

namespace Verge.ApiServer.Tests.Http;

public class TypedMergePatchTests
{
    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();
    private static readonly ResourceType LeaseType = ResourceCatalog.For<Lease>();

    private const string StoredPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"default","uid":"u-1","labels":{"app":"web"}},
         "spec":{"nodeName":"n-1","containers":[{"name":"web","image":"nginx","resources":{"requests":{"cpu":"100m"}}}]},
         "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"True"}],"hostIP":"10.0.0.1"}}
        """;

    private const string StoredLease = """
        {"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n-1","namespace":"kube-node-lease","uid":"u-2"},
         "spec":{"holderIdentity":"n-1","leaseDurationSeconds":4,"renewTime":"2026-03-01T10:00:00.000000Z"}}
        """;

    [Theory]
    [InlineData("""{"spec":{"renewTime":"2026-03-01T10:00:01.250000Z"}}""")]
    [InlineData("""{"spec":{"renewTime":"2026-03-01T10:00:01.250000Z","holderIdentity":null,"leaseDurationSeconds":8}}""")]
    public void TryPlan_OnALease_GivesWhatTheTreeMergeGives(string patch) => AssertSameAsTreeMerge(LeaseType, StoredLease, patch);

    [Theory]
    [InlineData("""{"status":{"phase":"Running","podIP":"10.1.0.5","conditions":[{"type":"Ready","status":"True"},null]}}""")]
    [InlineData("""{"status":{"hostIP":null,"containerStatuses":[{"name":"web","ready":true,"restartCount":0,"image":"nginx","imageID":"","state":{"running":{"startedAt":"2026-03-01T10:00:02Z"}}}]}}""")]
    [InlineData("""{"spec":{"activeDeadlineSeconds":30}}""")]
    public void TryPlan_OnAPod_GivesWhatTheTreeMergeGives(string patch) => AssertSameAsTreeMerge(PodType, StoredPod, patch);

    [Theory]
    [InlineData("""{"metadata":{"labels":{"app":null}}}""")]
    [InlineData("""{"status":{"phase":"Running","bogus":1}}""")]
    [InlineData("""{"spec":{"nodeSelector":{"disk":"ssd"}}}""")]
    [InlineData("""{"status":{"phase":"Running","podIP":7}}""")]
    [InlineData("""[{"op":"add"}]""")]
    public void TryPlan_WhenThePatchNeedsTheTreePath_GivesNoPlan_AndLeavesTheObjectUntouched(string patch)
    {
        var pod = Decode(PodType, StoredPod);
        var before = JsonSerializer.Serialize(pod, PodType.TypeInfo);

        Assert.Null(TypedMergePatch.TryPlan(PodType, pod, JsonNode.Parse(patch)!, dropUnknown: false, out _));
        Assert.Equal(before, JsonSerializer.Serialize(pod, PodType.TypeInfo));
    }

    [Fact]
    public void TryPlan_ChangesNothingUntilApplied()
    {
        var lease = Decode(LeaseType, StoredLease);
        var stored = JsonSerializer.Serialize(lease, LeaseType.TypeInfo);

        var assignments = TypedMergePatch.TryPlan(LeaseType, lease, JsonNode.Parse("""{"spec":{"leaseDurationSeconds":8}}""")!, dropUnknown: false, out _);

        Assert.NotNull(assignments);
        Assert.Equal(stored, JsonSerializer.Serialize(lease, LeaseType.TypeInfo));
        assignments.Apply();
        Assert.Equal(8, ((Lease)lease).Spec.LeaseDurationSeconds);
    }

    [Theory]
    [InlineData("Lease", """{"spec":{"renewTime":"2026-03-01T10:00:01.250000Z","leaseDurationSeconds":8}}""")]
    [InlineData("Pod", """{"status":{"phase":"Running","podIP":"10.1.0.5"}}""")]
    [InlineData("Pod", """{"spec":{"activeDeadlineSeconds":30},"status":{"hostIP":null}}""")]
    public void ApplyToCopy_GivesWhatApplyGives_AndLeavesThePlannedObjectAsItWas(string kind, string patch)
    {
        var (type, stored) = kind == "Lease" ? (LeaseType, StoredLease) : (PodType, StoredPod);
        var target = Decode(type, stored);
        var before = JsonSerializer.Serialize(target, type.TypeInfo);
        var inPlace = Decode(type, stored);
        TypedMergePatch.TryPlan(type, inPlace, JsonNode.Parse(patch)!, dropUnknown: false, out _)!.Apply();

        var copy = TypedMergePatch.TryPlan(type, target, JsonNode.Parse(patch)!, dropUnknown: false, out _)!.ApplyToCopy();

        Assert.Equal(JsonSerializer.Serialize(inPlace, type.TypeInfo), JsonSerializer.Serialize(copy, type.TypeInfo));
        Assert.Equal(before, JsonSerializer.Serialize(target, type.TypeInfo));
        Assert.NotSame(target, copy);
        Assert.NotSame(target.Metadata, copy.Metadata);
    }

    [Fact]
    public void EveryKind_CanBeCopiedForATypedPatch_SoNoneFallsBackToTheTreePathForIt()
    {
        var kinds = ResourceCatalog.All.Select(t => t.TypeInfo.Type).Append(typeof(ObjectMeta));

        var notCopyable = kinds.Where(t => !TypedMergePatch.Copyable(Core.Serialization.VergeJson.StrictOptions.GetTypeInfo(t))).Select(t => t.Name);

        Assert.Empty(notCopyable);
    }

    [Fact]
    public void ApplyToCopy_CopiesWhatThePatchChanges_AndSharesTheRest()
    {
        var pod = (Pod)Decode(PodType, StoredPod);

        var copy = (Pod)TypedMergePatch.TryPlan(PodType, pod, JsonNode.Parse("""{"status":{"phase":"Running"}}""")!, dropUnknown: false, out _)!.ApplyToCopy();
        copy.Metadata.ResourceVersion = null;
        copy.Status!.Phase = "Failed";

        Assert.Equal("5", pod.Metadata.ResourceVersion);
        Assert.Equal("Pending", pod.Status!.Phase);
        Assert.Same(pod.Spec, copy.Spec);
        Assert.Same(pod.Status.Conditions, copy.Status.Conditions);
    }

    [Fact]
    public void TryPlan_Lenient_LeavesOutOneUnknownFieldAndNamesIt_AsTheLenientTreeDecodeDrops()
    {
        const string patch = """{"status":{"phase":"Running","resize":"InProgress","podIP":"10.1.0.5"}}""";
        var typed = Decode(PodType, StoredPod);
        var merged = JsonMergePatch.Apply(ObjectCodec.ToNode(PodType, Decode(PodType, StoredPod)), JsonNode.Parse(patch)!);
        var expected = ObjectCodec.FromNode(PodType, merged, strict: false);

        var assignments = TypedMergePatch.TryPlan(PodType, typed, JsonNode.Parse(patch)!, dropUnknown: true, out var unknown);

        Assert.NotNull(assignments);
        Assert.Equal("status.resize", unknown);
        assignments.Apply();
        Assert.Equal(JsonSerializer.Serialize(expected, PodType.TypeInfo), JsonSerializer.Serialize(typed, PodType.TypeInfo));
    }

    [Theory]
    [InlineData("""{"status":{"resize":"","bogus":1}}""")]
    [InlineData("""{"status":{"containerStatuses":[{"name":"web","bogus":1}]}}""")]
    [InlineData("""{"status":{"weird.name":1}}""")]
    public void TryPlan_Lenient_LeavesTwoUnknownFieldsOrOneInsideAReplacedValueToTheTreePath(string patch)
    {
        Assert.Null(TypedMergePatch.TryPlan(PodType, Decode(PodType, StoredPod), JsonNode.Parse(patch)!, dropUnknown: true, out var unknown));
        Assert.Null(unknown);
    }

    [Fact]
    public void TryPlan_Lenient_AnUnknownFieldSetToNullIsNoChangeAndNoWarning()
    {
        var pod = Decode(PodType, StoredPod);

        var assignments = TypedMergePatch.TryPlan(PodType, pod, JsonNode.Parse("""{"status":{"resize":null,"phase":"Running"}}""")!, dropUnknown: true, out var unknown);

        Assert.NotNull(assignments);
        Assert.Null(unknown);
    }

    [Fact]
    public void TryPlan_Strict_LeavesAnUnknownFieldToTheTreePath() =>
        Assert.Null(TypedMergePatch.TryPlan(PodType, Decode(PodType, StoredPod), JsonNode.Parse("""{"status":{"resize":""}}""")!, dropUnknown: false, out _));

    private static void AssertSameAsTreeMerge(ResourceType type, string stored, string patch)
    {
        var typed = Decode(type, stored);
        var merged = JsonMergePatch.Apply(ObjectCodec.ToNode(type, Decode(type, stored)), JsonNode.Parse(patch)!);
        var expected = ObjectCodec.FromNode(type, merged, strict: true);

        var assignments = TypedMergePatch.TryPlan(type, typed, JsonNode.Parse(patch)!, dropUnknown: false, out _);
        Assert.NotNull(assignments);
        assignments.Apply();
        Assert.Equal(JsonSerializer.Serialize(expected, type.TypeInfo), JsonSerializer.Serialize(typed, type.TypeInfo));
    }

    private static KubeObject Decode(ResourceType type, string json) => ObjectCodec.Decode(type, System.Text.Encoding.UTF8.GetBytes(json), 5);
}
