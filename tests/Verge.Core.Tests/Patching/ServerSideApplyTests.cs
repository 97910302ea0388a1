using System.Text.Json.Nodes;
using CsCheck;
using Verge.Core.Patching;
using static Verge.Core.Tests.Patching.PatchAssert;

namespace Verge.Core.Tests.Patching;

public sealed class ServerSideApplyTests
{
    private static readonly DateTimeOffset T1 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly DateTimeOffset T2 = T1.AddMinutes(5);
    private static readonly IPatchSchema Schema = DeploymentLikeSchema.Instance;

    private const string Config = """
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","labels":{"app":"web"}},
         "spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}}}
        """;

    private static ApplyResult Apply(JsonObject? live, string config, string manager = "kubectl", bool force = false, DateTimeOffset? now = null) =>
        ServerSideApply.Apply(live, Obj(config), manager, force, Schema, now ?? T1);

    private static JsonArray Managed(JsonObject obj) => obj["metadata"]!["managedFields"]!.AsArray();

    private static JsonObject? EntryOf(JsonObject obj, string manager, string operation) =>
        Managed(obj).Select(e => e!.AsObject()).SingleOrDefault(e =>
            e["manager"]!.GetValue<string>() == manager && e["operation"]!.GetValue<string>() == operation);

    private static JsonObject Update(JsonObject? before, JsonObject after, string manager, DateTimeOffset now) =>
        ManagedFields.RecordUpdate(before, after, manager, "Update", "apps/v1", Schema, now);

    [Fact]
    public void Apply_OnCreate_RecordsApplyEntryInKubernetesEncoding()
    {
        var result = Apply(null, Config);

        Assert.True(result.Changed);
        Assert.Equal("x:1", result.Result["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Json("""
            [{"manager":"kubectl","operation":"Apply","apiVersion":"apps/v1","time":"2025-01-02T03:04:05Z","fieldsType":"FieldsV1",
              "fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}},
                          "f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"a\"}":{".":{},"f:image":{},"f:name":{}}}}}}}}]
            """, Managed(result.Result));
    }

    [Fact]
    public void Apply_SameConfigTwice_ChangesNothing()
    {
        var first = Apply(null, Config).Result;

        var second = Apply(first, Config, now: T2);

        Assert.False(second.Changed);
        Assert.True(JsonNode.DeepEquals(first, second.Result));
    }

    [Fact]
    public void Apply_WhenFieldIsDroppedFromConfig_RemovesIt()
    {
        var first = Apply(null, Config).Result;

        var second = Apply(first, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}}}
            """, now: T2).Result;

        Assert.Null(second["spec"]!["replicas"]);
        Assert.Null(second["metadata"]!["labels"]);
        Assert.Equal("web", second["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("2025-01-02T03:09:05Z", EntryOf(second, "kubectl", "Apply")!["time"]!.GetValue<string>());
    }

    [Fact]
    public void Apply_WhenDroppedItemIsAlsoOwnedByAnotherManager_KeepsIt()
    {
        var first = Apply(null, Config).Result;
        var shared = Apply(first, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}}}
            """, manager: "other").Result;

        var result = Apply(shared, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2}}
            """).Result;

        Json("""[{"name":"a","image":"x:1"}]""", result["spec"]!["template"]!["spec"]!["containers"]);
        Json("""{"f:spec":{"f:replicas":{}}}""", EntryOf(result, "kubectl", "Apply")!["fieldsV1"]);
    }

    [Fact]
    public void Apply_WhenDroppedItemIsNotOwnedElsewhere_RemovesWholeItem()
    {
        var first = Apply(null, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1"},{"name":"b","image":"y:1"}]}}}}
            """).Result;

        var result = Apply(first, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"template":{"spec":{"containers":[{"name":"b","image":"y:1"}]}}}}
            """).Result;

        Json("""[{"name":"b","image":"y:1"}]""", result["spec"]!["template"]!["spec"]!["containers"]);
    }

    [Fact]
    public void Apply_WhenAnUpdaterOwnsFieldWithOtherValue_Conflicts()
    {
        var created = Update(null, Obj(Config), "kubectl-client-side-apply", T1);

        var error = Assert.Throws<ApplyConflictException>(() => Apply(created, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3}}
            """));

        Assert.Equal("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas", error.Message);
        var conflict = Assert.Single(error.Conflicts);
        Assert.Equal(new ApplyConflict("kubectl-client-side-apply", "Update", "apps/v1", null, ".spec.replicas"), conflict);
    }

    [Fact]
    public void Apply_WhenSeveralFieldsConflict_ListsThemByManager()
    {
        var created = Apply(null, Config, manager: "first").Result;

        var error = Assert.Throws<ApplyConflictException>(() => Apply(created, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"a","image":"x:2"}]}}}}
            """, manager: "second"));

        Assert.Equal(
            "Apply failed with 2 conflicts: conflicts with \"first\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"a\"].image",
            error.Message);
    }

    [Fact]
    public void Apply_WhenValueEqualsOtherManagers_SharesOwnership()
    {
        var created = Apply(null, Config, manager: "first").Result;

        var result = Apply(created, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2}}
            """, manager: "second");

        Assert.True(result.Changed);
        Assert.Contains("f:replicas", EntryOf(result.Result, "first", "Apply")!.ToJsonString(), StringComparison.Ordinal);
        Json("""{"f:spec":{"f:replicas":{}}}""", EntryOf(result.Result, "second", "Apply")!["fieldsV1"]);
    }

    [Fact]
    public void Apply_WhenForced_MovesOwnershipToApplier()
    {
        var created = Update(null, Obj(Config), "kubectl-client-side-apply", T1);

        var result = Apply(created, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3}}
            """, force: true).Result;

        Assert.Equal(3, result["spec"]!["replicas"]!.GetValue<int>());
        Assert.DoesNotContain("f:replicas", EntryOf(result, "kubectl-client-side-apply", "Update")!.ToJsonString(), StringComparison.Ordinal);
        Json("""{"f:spec":{"f:replicas":{}}}""", EntryOf(result, "kubectl", "Apply")!["fieldsV1"]);
    }

    [Fact]
    public void Apply_WhenAddingItemToKeyedList_KeepsOtherManagersItems()
    {
        var created = Apply(null, Config, manager: "first").Result;

        var result = Apply(created, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"template":{"spec":{"containers":[{"name":"b","image":"y:1"}]}}}}
            """, manager: "second").Result;

        Json("""[{"name":"a","image":"x:1"},{"name":"b","image":"y:1"}]""", result["spec"]!["template"]!["spec"]!["containers"]);
    }

    [Fact]
    public void Apply_WhenFinalizersAreASet_RecordsValueKeys()
    {
        var result = Apply(null, """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","finalizers":["a/b"]}}""").Result;

        Json("""{"f:metadata":{"f:finalizers":{"v:\"a/b\"":{}}}}""", EntryOf(result, "kubectl", "Apply")!["fieldsV1"]);
    }

    [Fact]
    public void Apply_WhenConfigItemLacksMergeKey_Throws()
    {
        var error = Assert.Throws<PatchException>(() => Apply(null, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}
            """));

        Assert.Equal("apply at spec.template.spec.containers: item {\"image\":\"x\"} has no merge key \"name\"", error.Message);
    }

    [Fact]
    public void Apply_IgnoresStatusAndServerSetMetadata()
    {
        var live = Obj("""
            {"apiVersion":"apps/v1","kind":"Deployment",
             "metadata":{"name":"web","uid":"u1","resourceVersion":"7","generation":1,"creationTimestamp":"2025-01-01T00:00:00Z"},
             "status":{"replicas":5}}
            """);

        var result = Apply(live, """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2},"status":{"replicas":9}}
            """).Result;

        Assert.Equal(5, result["status"]!["replicas"]!.GetValue<int>());
        Assert.Equal("u1", result["metadata"]!["uid"]!.GetValue<string>());
        Json("""{"f:spec":{"f:replicas":{}}}""", EntryOf(result, "kubectl", "Apply")!["fieldsV1"]);
    }

    [Fact]
    public void Apply_NeverChangesItsInputs()
    {
        var live = Apply(null, Config).Result;
        var liveBefore = live.ToJsonString();
        var config = Obj("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":4}}""");
        var configBefore = config.ToJsonString();

        ServerSideApply.Apply(live, config, "other", true, Schema, T2);

        Assert.Equal(liveBefore, live.ToJsonString());
        Assert.Equal(configBefore, config.ToJsonString());
    }

    [Fact]
    public void Apply_SameRandomConfigTwice_ChangesNothing()
    {
        ConfigGen.Sample(config =>
        {
            var first = ServerSideApply.Apply(null, config, "m", false, Schema, T1).Result;
            var second = ServerSideApply.Apply(first, config, "m", false, Schema, T2);
            return !second.Changed && JsonNode.DeepEquals(first, second.Result);
        });
    }

    [Fact]
    public void Apply_ForcedByManyManagers_NeverOwnsAValueTwice()
    {
        var step = Gen.Select(Gen.Int[0, 2], ConfigGen);
        step.Array[1, 6].Sample(steps =>
        {
            JsonObject? live = null;
            foreach (var (who, config) in steps)
            {
                live = ServerSideApply.Apply(live, Distinct(config, who), "manager-" + who, true, Schema, T1).Result;
            }

            // Managers share the identity of list items (and their key field): only values can be contested.
            var fields = new FieldWalker(Schema, null).Walk(live, strict: false);
            var owners = ManagedFields.Read(live);
            var contested = owners.SelectMany(e => e.Fields)
                .Where(p => fields.TryGetValue(p, out var v) && v.Value is JsonValue && p.Elements[^1] != "f:name")
                .ToList();
            var present = fields.Keys.SelectMany(p => p.Prefixes()).ToHashSet();
            var everyOwnedFieldExists = owners.SelectMany(e => e.Fields).All(present.Contains);
            return contested.Count == contested.Distinct().Count()
                && everyOwnedFieldExists
                && owners.Select(o => o.Identity).Distinct().Count() == owners.Count;
        });
    }

    /// <summary>Random Deployment-shaped configurations: replicas, labels and containers with env.</summary>
    private static readonly Gen<JsonObject> ConfigGen =
        Gen.Select(
            Gen.Int[-1, 3],
            Gen.String[Gen.Char["xyz"], 1, 2].Array[0, 3],
            Gen.Select(Gen.OneOfConst("a", "b", "c"), Gen.String[Gen.Char["12"], 1, 2], Gen.OneOfConst("E", "F").Array[0, 2]).Array[0, 3],
            (replicas, labels, containers) =>
            {
                var spec = new JsonObject();
                if (replicas >= 0)
                {
                    spec["replicas"] = replicas;
                }

                var list = new JsonArray();
                foreach (var (name, image, env) in containers.DistinctBy(c => c.Item1))
                {
                    var container = new JsonObject { ["name"] = name, ["image"] = image };
                    if (env.Length > 0)
                    {
                        container["env"] = new JsonArray([.. env.Distinct().Select(e => (JsonNode)new JsonObject { ["name"] = e, ["value"] = image })]);
                    }

                    list.Add((JsonNode)container);
                }

                spec["template"] = new JsonObject { ["spec"] = new JsonObject { ["containers"] = list } };
                var labelObject = new JsonObject();
                foreach (var label in labels)
                {
                    labelObject[label] = "v";
                }

                return new JsonObject
                {
                    ["apiVersion"] = "apps/v1",
                    ["kind"] = "Deployment",
                    ["metadata"] = new JsonObject { ["name"] = "web", ["labels"] = labelObject },
                    ["spec"] = spec,
                };
            });

    /// <summary>Makes every scalar value of a configuration unique to its manager, so no two managers agree on a value.</summary>
    private static JsonObject Distinct(JsonObject config, int who)
    {
        var copy = config.DeepClone().AsObject();
        void Visit(JsonNode? node, string? key)
        {
            switch (node)
            {
                case JsonObject obj:
                    foreach (var (k, v) in obj.ToList())
                    {
                        if (v is JsonValue && k is not ("name" or "apiVersion" or "kind"))
                        {
                            obj[k] = v.GetValueKind() == System.Text.Json.JsonValueKind.Number
                                ? v.GetValue<int>() * 10 + who
                                : $"{v}-{who}";
                        }
                        else
                        {
                            Visit(v, k);
                        }
                    }

                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        Visit(item, key);
                    }

                    break;
            }
        }

        Visit(copy, null);
        return copy;
    }
}
