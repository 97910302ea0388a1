using System.Text.Json.Nodes;
using CsCheck;
using Verge.Core.Patching;
using static Verge.Core.Tests.Patching.PatchAssert;

namespace Verge.Core.Tests.Patching;

public sealed class StrategicMergePatchTests
{
    private static readonly JsonObject Live = Obj("""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","labels":{"app":"web","tier":"front"},"finalizers":["a/one","a/two"]},
         "spec":{"replicas":1,
                 "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},
                 "template":{"metadata":{"labels":{"app":"web"}},
                             "spec":{"containers":[
                                {"name":"a","image":"x:1","command":["run","--fast"],"env":[{"name":"X","value":"1"}]},
                                {"name":"b","image":"y:1"}]}}}}
        """);

    private static JsonObject Patch(string patch) =>
        StrategicMergePatch.Apply(Live, Obj(patch), DeploymentLikeSchema.Instance);

    private static JsonNode? Containers(JsonObject obj) => obj["spec"]!["template"]!["spec"]!["containers"];

    [Fact]
    public void Apply_WhenScaling_ChangesOnlyReplicas()
    {
        var result = Patch("""{"spec":{"replicas":3}}""");

        var expected = Live.DeepClone();
        expected["spec"]!["replicas"] = 3;
        Assert.True(JsonNode.DeepEquals(expected, result));
    }

    [Fact]
    public void Apply_WhenKubectlChangesOneImage_MergesThatContainerOnly()
    {
        var result = Patch("""
            {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
                                         "containers":[{"image":"x:2","name":"a"}]}}}}
            """);

        Json("""
            [{"name":"a","image":"x:2","command":["run","--fast"],"env":[{"name":"X","value":"1"}]},
             {"name":"b","image":"y:1"}]
            """, Containers(result));
        Assert.DoesNotContain("$setElementOrder", result.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_WhenAddingEnvToOneContainer_AppendsByOrderDirective()
    {
        var result = Patch("""
            {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
              "containers":[{"$setElementOrder/env":[{"name":"X"},{"name":"Y"}],"env":[{"name":"Y","value":"2"}],"name":"a"}]}}}}
            """);

        Json("""[{"name":"X","value":"1"},{"name":"Y","value":"2"}]""", Containers(result)![0]!["env"]);
        Json("""{"name":"b","image":"y:1"}""", Containers(result)![1]);
    }

    [Fact]
    public void Apply_WhenItemSaysPatchDelete_RemovesThatItem()
    {
        var result = Patch("""
            {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"b"}],
                                         "containers":[{"$patch":"delete","name":"a"}]}}}}
            """);

        Json("""[{"name":"b","image":"y:1"}]""", Containers(result));
    }

    [Fact]
    public void Apply_WhenLabelIsNull_RemovesLabel()
    {
        var result = Patch("""{"metadata":{"labels":{"tier":null}}}""");

        Json("""{"app":"web"}""", result["metadata"]!["labels"]);
    }

    [Fact]
    public void Apply_WhenRetainKeysOnStrategy_DropsOtherKeys()
    {
        var result = Patch("""{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}""");

        Json("""{"type":"Recreate"}""", result["spec"]!["strategy"]);
    }

    [Fact]
    public void Apply_WhenRetainKeysOmitsAPatchedField_Throws()
    {
        var error = Assert.Throws<PatchException>(() => Patch("""{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":{"maxSurge":2}}}}"""));

        Assert.Equal("strategic merge patch at spec.strategy: field \"rollingUpdate\" is in the patch but not in $retainKeys", error.Message);
    }

    [Fact]
    public void Apply_WhenMapSaysPatchReplace_ReplacesMapWholesale()
    {
        var result = Patch("""{"metadata":{"labels":{"$patch":"replace","owner":"ops"}}}""");

        Json("""{"owner":"ops"}""", result["metadata"]!["labels"]);
    }

    [Fact]
    public void Apply_WhenMapSaysPatchDelete_EmptiesMap()
    {
        var result = Patch("""{"spec":{"strategy":{"$patch":"delete"}}}""");

        Json("""{}""", result["spec"]!["strategy"]);
    }

    [Fact]
    public void Apply_WhenMapSaysPatchMerge_MergesAsUsual()
    {
        var result = Patch("""{"metadata":{"labels":{"$patch":"merge","owner":"ops"}}}""");

        Json("""{"app":"web","tier":"front","owner":"ops"}""", result["metadata"]!["labels"]);
    }

    [Fact]
    public void Apply_WhenListSaysPatchReplace_ReplacesListWholesale()
    {
        var result = Patch("""{"spec":{"template":{"spec":{"containers":[{"$patch":"replace"},{"name":"c","image":"z:1"}]}}}}""");

        Json("""[{"name":"c","image":"z:1"}]""", Containers(result));
    }

    [Fact]
    public void Apply_WhenDeleteFromPrimitiveList_RemovesThoseValues()
    {
        var result = Patch("""{"metadata":{"$deleteFromPrimitiveList/finalizers":["a/one"]}}""");

        Json("""["a/two"]""", result["metadata"]!["finalizers"]);
    }

    [Fact]
    public void Apply_WhenSetListIsPatched_TakesUnionWithoutDuplicates()
    {
        var result = Patch("""{"metadata":{"$setElementOrder/finalizers":["a/one","a/two","a/three"],"finalizers":["a/two","a/three"]}}""");

        Json("""["a/one","a/two","a/three"]""", result["metadata"]!["finalizers"]);
    }

    [Fact]
    public void Apply_WhenListIsAtomic_ReplacesIt()
    {
        var result = Patch("""{"spec":{"template":{"spec":{"containers":[{"name":"a","command":["sleep"]}]}}}}""");

        Json("""["sleep"]""", Containers(result)![0]!["command"]);
    }

    [Fact]
    public void Apply_WhenOrderDirectiveReorders_ReturnsItemsInThatOrder()
    {
        var result = Patch("""{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}]}}}}""");

        Assert.Equal(["b", "a"], Containers(result)!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
    }

    [Fact]
    public void Apply_WhenNewItemComesWithoutOrder_PutsPatchItemsFirstAsKubernetesDoes()
    {
        var result = Patch("""{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"z:1"}]}}}}""");

        Assert.Equal(["c", "a", "b"], Containers(result)!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
    }

    [Fact]
    public void Apply_WhenNewItemIsNamedInOrder_PlacesItThere()
    {
        var result = Patch("""
            {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"c"},{"name":"b"}],
                                         "containers":[{"name":"c","image":"z:1"}]}}}}
            """);

        Assert.Equal(["a", "c", "b"], Containers(result)!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
    }

    [Fact]
    public void Apply_WhenItemLacksMergeKey_Throws()
    {
        var error = Assert.Throws<PatchException>(() => Patch("""{"spec":{"template":{"spec":{"containers":[{"image":"x:2"}]}}}}"""));

        Assert.Equal(PatchErrorKind.Malformed, error.Kind);
        Assert.Equal("strategic merge patch at spec.template.spec.containers: item {\"image\":\"x:2\"} has no merge key \"name\"", error.Message);
    }

    [Fact]
    public void Apply_WhenDirectiveIsUnknown_Throws()
    {
        var error = Assert.Throws<PatchException>(() => Patch("""{"spec":{"$patch":"shuffle"}}"""));

        Assert.Equal("strategic merge patch at spec: unknown $patch directive \"shuffle\"", error.Message);
    }

    [Fact]
    public void Apply_WhenFieldIsNew_StoresItWithoutDirectivesOrNulls()
    {
        var result = Patch("""{"spec":{"template":{"spec":{"volumes":[{"name":"v","emptyDir":{},"hostPath":null}],"$setElementOrder/volumes":[{"name":"v"}]}}}}""");

        Json("""[{"name":"v","emptyDir":{}}]""", result["spec"]!["template"]!["spec"]!["volumes"]);
    }

    [Fact]
    public void Apply_NeverChangesItsInputs()
    {
        var live = Live.DeepClone().AsObject();
        var patch = Obj("""{"metadata":{"labels":{"tier":null}},"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"a"}]}}}}""");
        var patchBefore = patch.ToJsonString();

        StrategicMergePatch.Apply(live, patch, DeploymentLikeSchema.Instance);

        Assert.True(JsonNode.DeepEquals(Live, live));
        Assert.Equal(patchBefore, patch.ToJsonString());
    }

    [Fact]
    public void Apply_WithEmptyPatch_IsIdentity()
    {
        JsonGen.Object.Sample(target =>
            JsonNode.DeepEquals(target, StrategicMergePatch.Apply(target, new JsonObject(), PatchSchema.Empty)));
    }

    [Fact]
    public void Apply_WithoutSchemaAndDirectives_AgreesWithMergePatch()
    {
        Gen.Select(JsonGen.Object, JsonGen.Object).Sample((target, patch) =>
            JsonNode.DeepEquals(
                JsonMergePatch.Apply(target, patch),
                StrategicMergePatch.Apply(target, patch, PatchSchema.Empty)));
    }
}
