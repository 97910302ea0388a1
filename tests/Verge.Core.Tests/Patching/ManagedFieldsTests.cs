using System.Text.Json.Nodes;
using Verge.Core.Patching;
using static Verge.Core.Tests.Patching.PatchAssert;

namespace Verge.Core.Tests.Patching;

public sealed class ManagedFieldsTests
{
    private static readonly DateTimeOffset T1 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly IPatchSchema Schema = DeploymentLikeSchema.Instance;

    private static JsonObject Record(JsonObject? before, JsonObject after, string manager, DateTimeOffset now) =>
        ManagedFields.RecordUpdate(before, after, manager, "Update", "apps/v1", Schema, now);

    [Fact]
    public void RecordUpdate_OnCreate_OwnsEverySpecAndUserMetadataField()
    {
        var created = Obj("""
            {"apiVersion":"apps/v1","kind":"Deployment",
             "metadata":{"name":"web","uid":"u","resourceVersion":"1","generation":1,"creationTimestamp":"2025-01-01T00:00:00Z",
                         "labels":{"app":"web"},"ownerReferences":[{"uid":"o1","name":"owner"}]},
             "spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}},
             "status":{"replicas":1}}
            """);

        var result = Record(null, created, "kubectl-create", T1);

        Json("""
            [{"manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1","time":"2025-01-02T03:04:05Z","fieldsType":"FieldsV1",
              "fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}},"f:ownerReferences":{"k:{\"uid\":\"o1\"}":{".":{},"f:name":{},"f:uid":{}}}},
                          "f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"a\"}":{".":{},"f:image":{},"f:name":{}}}}}}}}]
            """, result["metadata"]!["managedFields"]);
    }

    [Fact]
    public void RecordUpdate_WhenFieldChanges_TakesItFromApplier()
    {
        var applied = ServerSideApply.Apply(null, Obj("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,"paused":false}}"""), "kubectl", false, Schema, T1).Result;
        var scaled = applied.DeepClone().AsObject();
        scaled["spec"]!["replicas"] = 5;

        var result = Record(applied, scaled, "kube-controller", T1.AddHours(1));

        var entries = result["metadata"]!["managedFields"]!.AsArray();
        Assert.Equal(2, entries.Count);
        Json("""{"f:spec":{"f:paused":{}}}""", entries[0]!["fieldsV1"]);
        Json("""{"f:spec":{"f:replicas":{}}}""", entries[1]!["fieldsV1"]);
        Assert.Equal("kube-controller", entries[1]!["manager"]!.GetValue<string>());
        Assert.Equal("2025-01-02T04:04:05Z", entries[1]!["time"]!.GetValue<string>());
    }

    [Fact]
    public void RecordUpdate_WhenNothingChanged_KeepsEntriesVerbatim()
    {
        var created = Record(null, Obj("""{"metadata":{"name":"web"},"spec":{"replicas":1}}"""), "a", T1);
        var same = created.DeepClone().AsObject();
        same["metadata"]!["resourceVersion"] = "9";

        var result = Record(created, same, "b", T1.AddDays(1));

        Assert.True(JsonNode.DeepEquals(created["metadata"]!["managedFields"], result["metadata"]!["managedFields"]));
    }

    [Fact]
    public void RecordUpdate_WhenFieldIsRemoved_DropsItFromEveryManager()
    {
        var created = Record(null, Obj("""{"metadata":{"name":"web","labels":{"a":"1","b":"2"}}}"""), "first", T1);
        var after = Obj("""{"metadata":{"name":"web","labels":{"a":"1"}}}""");

        var result = Record(created, after, "second", T1);

        var entry = Assert.Single(result["metadata"]!["managedFields"]!.AsArray());
        Assert.Equal("first", entry!["manager"]!.GetValue<string>());
        Json("""{"f:metadata":{"f:labels":{"f:a":{}}}}""", entry["fieldsV1"]);
    }

    [Fact]
    public void RecordUpdate_ForStatusSubresource_OwnsOnlyStatus()
    {
        var before = Obj("""{"metadata":{"name":"web"},"spec":{"replicas":1}}""");
        var after = Obj("""{"metadata":{"name":"web"},"spec":{"replicas":1},"status":{"readyReplicas":1}}""");

        var result = ManagedFields.RecordUpdate(before, after, "kubelet", "Update", "v1", Schema, T1, subresource: "status");

        Json("""
            [{"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2025-01-02T03:04:05Z","fieldsType":"FieldsV1",
              "fieldsV1":{"f:status":{"f:readyReplicas":{}}},"subresource":"status"}]
            """, result["metadata"]!["managedFields"]);
    }

    [Fact]
    public void RecordUpdateEntries_GivesTheManagedFieldsRecordUpdateSets_WithoutTouchingAfter()
    {
        var created = Obj("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
             "spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}}}
            """);
        var withFields = Record(null, created, "creator", T1);
        var scaled = withFields.DeepClone().AsObject();
        scaled["spec"]!["replicas"] = 3;
        var emptied = Obj("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"}}""");
        var cases = new (JsonObject? Before, JsonObject After)[]
        {
            (null, created),
            (withFields, scaled),
            (withFields, withFields.DeepClone().AsObject()),
            (null, Obj("""{"apiVersion":"apps/v1","kind":"Deployment"}""")),
            (withFields, emptied),
        };

        foreach (var (before, after) in cases)
        {
            var untouched = after.ToJsonString();
            var full = Record(before, after, "scaler", T1.AddMinutes(1));

            var entries = ManagedFields.RecordUpdateEntries(before, after, "scaler", "Update", "apps/v1", Schema, T1.AddMinutes(1));

            Assert.True(JsonNode.DeepEquals(full["metadata"]?["managedFields"], entries), $"{before?.ToJsonString()} -> {untouched}");
            Assert.Equal(untouched, after.ToJsonString());
        }
    }
}

public sealed class FieldPathTests
{
    [Fact]
    public void FieldsV1_RoundTripsMembersAndParents()
    {
        var fields = Obj("""
            {"f:metadata":{"f:labels":{".":{},"f:app":{}}},
             "f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"a\"}":{".":{},"f:image":{}}}}}},
             "f:finalizers":{"v:\"x\"":{}}}
            """);

        var paths = FieldPath.FromFieldsV1(fields);

        Assert.Equal(5, paths.Count);
        Json(fields.ToJsonString(), FieldPath.ToFieldsV1(paths));
    }

    [Fact]
    public void ToString_PrintsPathsAsKubernetesDoes()
    {
        var path = FieldPath.Root.Field("spec").Field("containers").Key("name", JsonValue.Create("a")).Field("ports")
            .Key("containerPort", JsonValue.Create(80)).Field("finalizers").Value(JsonValue.Create("x"));

        Assert.Equal(".spec.containers[name=\"a\"].ports[containerPort=80].finalizers[=\"x\"]", path.ToString());
    }
}
