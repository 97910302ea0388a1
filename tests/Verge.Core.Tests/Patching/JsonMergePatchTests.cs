using System.Text.Json.Nodes;
using CsCheck;
using Verge.Core.Patching;
using static Verge.Core.Tests.Patching.PatchAssert;

namespace Verge.Core.Tests.Patching;

public sealed class JsonMergePatchTests
{
    [Fact]
    public void Apply_WhenValueIsNull_DeletesField()
    {
        var target = Obj("""{"metadata":{"labels":{"app":"web","tier":"front"}}}""");

        var result = JsonMergePatch.Apply(target, JsonNode.Parse("""{"metadata":{"labels":{"tier":null}}}"""));

        Json("""{"metadata":{"labels":{"app":"web"}}}""", result);
    }

    [Fact]
    public void Apply_WhenObjectsNest_MergesRecursively()
    {
        var target = Obj("""{"spec":{"replicas":1,"paused":false}}""");

        var result = JsonMergePatch.Apply(target, JsonNode.Parse("""{"spec":{"replicas":3},"extra":{"a":{"b":null,"c":1}}}"""));

        Json("""{"spec":{"replicas":3,"paused":false},"extra":{"a":{"c":1}}}""", result);
    }

    [Fact]
    public void Apply_WhenValueIsArray_ReplacesWholeArray()
    {
        var target = Obj("""{"args":["a","b","c"],"items":[{"name":"x","v":1}]}""");

        var result = JsonMergePatch.Apply(target, JsonNode.Parse("""{"args":["z"],"items":[{"name":"x"}]}"""));

        Json("""{"args":["z"],"items":[{"name":"x"}]}""", result);
    }

    [Fact]
    public void Apply_WhenPatchReplacesScalarWithObject_TakesObject()
    {
        var result = JsonMergePatch.Apply(Obj("""{"a":1}"""), JsonNode.Parse("""{"a":{"b":2,"c":null}}"""));

        Json("""{"a":{"b":2}}""", result);
    }

    [Fact]
    public void Apply_WhenPatchIsNotObject_ThrowsMalformed()
    {
        var error = Assert.Throws<PatchException>(() => JsonMergePatch.Apply(Obj("{}"), JsonNode.Parse("[1]")));

        Assert.Equal(PatchErrorKind.Malformed, error.Kind);
        Assert.Equal("merge patch must be a JSON object, not an array", error.Message);
    }

    [Fact]
    public void Apply_NeverChangesItsInputs()
    {
        var target = Obj("""{"spec":{"replicas":1,"selector":{"app":"a"}}}""");
        var patch = JsonNode.Parse("""{"spec":{"replicas":null,"selector":{"tier":"b"}}}""");
        var targetBefore = target.ToJsonString();
        var patchBefore = patch!.ToJsonString();

        JsonMergePatch.Apply(target, patch);

        Assert.Equal(targetBefore, target.ToJsonString());
        Assert.Equal(patchBefore, patch.ToJsonString());
    }

    [Fact]
    public void Apply_WithEmptyPatch_IsIdentity()
    {
        JsonGen.Object.Sample(target =>
        {
            var result = JsonMergePatch.Apply(target, new JsonObject());
            return JsonNode.DeepEquals(target, result);
        });
    }

    [Fact]
    public void Apply_PatchOfItself_IsIdentityWhenFreeOfNulls()
    {
        JsonGen.Object.Sample(target =>
        {
            var result = JsonMergePatch.Apply(target, target.DeepClone());
            return JsonNode.DeepEquals(target, result);
        });
    }
}
