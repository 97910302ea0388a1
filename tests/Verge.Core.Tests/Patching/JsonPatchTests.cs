using System.Text.Json.Nodes;
using CsCheck;
using Verge.Core.Patching;
using static Verge.Core.Tests.Patching.PatchAssert;

namespace Verge.Core.Tests.Patching;

public sealed class JsonPatchTests
{
    private static readonly JsonObject Deployment = Obj("""
        {"metadata":{"name":"web","labels":{"app":"web"},"annotations":{"example.com/a~b":"1"}},
         "spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"a","image":"x:1"},{"name":"b","image":"y:1"}]}}}}
        """);

    [Fact]
    public void Apply_ReplaceScalar_ChangesValue()
    {
        var result = JsonPatch.Apply(Deployment, Arr("""[{"op":"replace","path":"/spec/replicas","value":3}]"""));

        Assert.Equal(3, result["spec"]!["replicas"]!.GetValue<int>());
    }

    [Fact]
    public void Apply_AddIntoArrayAtIndexAndEnd_InsertsItems()
    {
        var result = JsonPatch.Apply(Deployment, Arr("""
            [{"op":"add","path":"/spec/template/spec/containers/1","value":{"name":"m"}},
             {"op":"add","path":"/spec/template/spec/containers/-","value":{"name":"z"}}]
            """));

        Json("""[{"name":"a","image":"x:1"},{"name":"m"},{"name":"b","image":"y:1"},{"name":"z"}]""", result["spec"]!["template"]!["spec"]!["containers"]);
    }

    [Fact]
    public void Apply_WhenPointerIsEscaped_UnescapesTildeAndSlash()
    {
        var result = JsonPatch.Apply(Deployment, Arr("""
            [{"op":"remove","path":"/metadata/annotations/example.com~1a~0b"},
             {"op":"add","path":"/metadata/labels/team~1x","value":"ops"}]
            """));

        Json("""{}""", result["metadata"]!["annotations"]);
        Json("""{"app":"web","team/x":"ops"}""", result["metadata"]!["labels"]);
    }

    [Fact]
    public void Apply_MoveAndCopy_RelocateValues()
    {
        var result = JsonPatch.Apply(Deployment, Arr("""
            [{"op":"copy","from":"/metadata/labels","path":"/spec/selector"},
             {"op":"move","from":"/spec/template/spec/containers/1","path":"/spec/template/spec/containers/0"}]
            """));

        Json("""{"app":"web"}""", result["spec"]!["selector"]);
        Json("""[{"name":"b","image":"y:1"},{"name":"a","image":"x:1"}]""", result["spec"]!["template"]!["spec"]!["containers"]);
    }

    [Fact]
    public void Apply_WhenTestMatches_ContinuesWithNextOperation()
    {
        var result = JsonPatch.Apply(Deployment, Arr("""
            [{"op":"test","path":"/spec/template/spec/containers/0/image","value":"x:1"},
             {"op":"replace","path":"/spec/template/spec/containers/0/image","value":"x:2"}]
            """));

        Assert.Equal("x:2", result["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [Fact]
    public void Apply_WhenTestFails_ThrowsTestFailed()
    {
        var error = Assert.Throws<PatchException>(() => JsonPatch.Apply(Deployment, Arr("""
            [{"op":"replace","path":"/spec/replicas","value":5},
             {"op":"test","path":"/spec/replicas","value":4}]
            """)));

        Assert.Equal(PatchErrorKind.TestFailed, error.Kind);
        Assert.Equal("json patch operation 1 (\"test\" /spec/replicas): test failed: value is 5, expected 4", error.Message);
    }

    [Fact]
    public void Apply_WhenReplacedPathIsMissing_SaysWhichOperationAndPath()
    {
        var error = Assert.Throws<PatchException>(() => JsonPatch.Apply(Deployment, Arr("""
            [{"op":"add","path":"/spec/paused","value":true},
             {"op":"remove","path":"/spec/paused"},
             {"op":"replace","path":"/spec/foo","value":1}]
            """)));

        Assert.Equal(PatchErrorKind.CannotApply, error.Kind);
        Assert.Equal("json patch operation 2 (\"replace\" /spec/foo): path not found", error.Message);
    }

    [Theory]
    [InlineData("""[{"op":"add","path":"/spec/template/spec/containers/3","value":{}}]""", "array index 3 is out of bounds (length 2) in path")]
    [InlineData("""[{"op":"remove","path":"/spec/template/spec/containers/2"}]""", "array index 2 is out of bounds (length 2) in path")]
    [InlineData("""[{"op":"remove","path":"/spec/template/spec/containers/01"}]""", "\"01\" is not a valid array index in path")]
    [InlineData("""[{"op":"remove","path":"/spec/template/spec/containers/-"}]""", "\"-\" is not a valid array index in path")]
    [InlineData("""[{"op":"add","path":"/spec/missing/child","value":1}]""", "path not found")]
    [InlineData("""[{"op":"move","from":"/spec","path":"/spec/template/x"}]""", "cannot move \"/spec\" into its own child")]
    [InlineData("""[{"op":"copy","from":"/nope","path":"/x"}]""", "from path \"/nope\" not found")]
    [InlineData("""[{"op":"remove","path":""}]""", "cannot remove the whole document")]
    public void Apply_WhenOperationCannotApply_ThrowsCannotApply(string operations, string problem)
    {
        var error = Assert.Throws<PatchException>(() => JsonPatch.Apply(Deployment, Arr(operations)));

        Assert.Equal(PatchErrorKind.CannotApply, error.Kind);
        Assert.EndsWith(": " + problem, error.Message);
    }

    [Theory]
    [InlineData("""[{"op":"frobnicate","path":"/a"}]""", "json patch operation 0 has unknown op \"frobnicate\"")]
    [InlineData("""[{"op":"add","path":"/a"}]""", "json patch operation 0 (\"add\" /a) is missing \"value\"")]
    [InlineData("""[{"op":"remove"}]""", "json patch operation 0 is missing the string field \"path\"")]
    [InlineData("""[{"op":"move","path":"/a"}]""", "json patch operation 0 is missing the string field \"from\"")]
    [InlineData("""[{"op":"remove","path":"a"}]""", "json patch operation 0 (\"remove\" a): \"a\" is not a JSON pointer")]
    [InlineData("""[{"op":"remove","path":"/a~2"}]""", "json patch operation 0 (\"remove\" /a~2): \"/a~2\" is not a JSON pointer")]
    [InlineData("""[1]""", "json patch operation 0 must be an object")]
    public void Apply_WhenOperationIsMalformed_ThrowsMalformedBeforeApplyingAny(string operations, string message)
    {
        var error = Assert.Throws<PatchException>(() => JsonPatch.Apply(Deployment, Arr(operations)));

        Assert.Equal(PatchErrorKind.Malformed, error.Kind);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Apply_WhenValueIsNull_StoresNull()
    {
        var result = JsonPatch.Apply(Obj("""{"a":1}"""), Arr("""[{"op":"replace","path":"/a","value":null}]"""));

        Assert.True(result.ContainsKey("a"));
        Assert.Null(result["a"]);
    }

    [Fact]
    public void Apply_WhenRootIsReplacedWithObject_ReturnsIt()
    {
        var result = JsonPatch.Apply(Deployment, Arr("""[{"op":"replace","path":"","value":{"kind":"X"}}]"""));

        Json("""{"kind":"X"}""", result);
    }

    [Fact]
    public void Apply_WhenRootBecomesArray_ThrowsCannotApply()
    {
        var error = Assert.Throws<PatchException>(() => JsonPatch.Apply(Deployment, Arr("""[{"op":"add","path":"","value":[]}]""")));

        Assert.Equal(PatchErrorKind.CannotApply, error.Kind);
    }

    [Fact]
    public void Apply_WhenLaterOperationFails_LeavesTargetUntouched()
    {
        var target = Deployment.DeepClone().AsObject();

        Assert.Throws<PatchException>(() => JsonPatch.Apply(target, Arr("""
            [{"op":"replace","path":"/spec/replicas","value":9},{"op":"remove","path":"/nope"}]
            """)));

        Assert.True(JsonNode.DeepEquals(Deployment, target));
    }

    [Fact]
    public void Apply_AddThenRemoveOfFreshKey_IsIdentity()
    {
        Gen.Select(JsonGen.Object, JsonGen.Scalar).Sample((target, value) =>
        {
            var key = "fresh/" + target.Count + "~";
            var pointer = "/" + key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
            var operations = new JsonArray
            {
                new JsonObject { ["op"] = "add", ["path"] = pointer, ["value"] = value.DeepClone() },
                new JsonObject { ["op"] = "remove", ["path"] = pointer },
            };

            return JsonNode.DeepEquals(target, JsonPatch.Apply(target, operations));
        });
    }
}
