using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Core.Apps;
using Verge.Core.Patching;
using Verge.Core.Serialization;
using static Verge.Core.Tests.Patching.PatchAssert;

namespace Verge.Core.Tests.Patching;

/// <summary>The patch algorithms over the real Deployment contract, with patches shaped as kubectl sends them.</summary>
public sealed class DeploymentPatchTests
{
    private static readonly TypePatchSchema Schema = TypePatchSchema.For(VergeJsonContext.Default.Deployment);

    private static readonly JsonObject Live = Obj("""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","finalizers":["a/x"]},
         "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"}},
                             "spec":{"containers":[{"name":"a","image":"x:1","env":[{"name":"X","value":"1"}],"ports":[{"containerPort":80}]},
                                                   {"name":"b","image":"y:1"}]}}}}
        """);

    [Fact]
    public void Schema_ReadsMergeKeysOfRealDeployment()
    {
        Assert.Equal(ListSchema.ByKey("name"), Schema.GetList(["spec", "template", "spec", "containers"]));
        Assert.Equal(ListSchema.ByKey("name"), Schema.GetList(["spec", "template", "spec", "containers", "env"]));
        Assert.Equal(ListSchema.ByKey("containerPort"), Schema.GetList(["spec", "template", "spec", "containers", "ports"]));
        Assert.Equal(ListSchema.Set, Schema.GetList(["metadata", "finalizers"]));
        Assert.Equal(ListSchema.Atomic, Schema.GetList(["spec", "template", "spec", "containers", "command"]));
    }

    [Fact]
    public void StrategicMergePatch_KubectlSetEnv_AddsVariableToOneContainer()
    {
        var patch = Obj("""
            {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
              "containers":[{"$setElementOrder/env":[{"name":"X"},{"name":"Y"}],"env":[{"name":"Y","value":"2"}],"name":"a"}]}}}}
            """);

        var result = StrategicMergePatch.Apply(Live, patch, Schema);

        var deployment = result.Deserialize(VergeJsonContext.Default.Deployment)!;
        var containers = deployment.Spec!.Template.Spec!.Containers;
        Assert.Equal(["a", "b"], containers.Select(c => c.Name));
        Assert.Equal(["X", "Y"], containers[0].Env!.Select(e => e.Name));
        Assert.Equal("x:1", containers[0].Image);
    }

    [Fact]
    public void ServerSideApply_OnRealDeployment_KeysContainersAndPortsByMergeKey()
    {
        var result = ServerSideApply.Apply(null, Live, "kubectl", false, Schema, DateTimeOffset.UnixEpoch).Result;

        var fields = result["metadata"]!["managedFields"]![0]!["fieldsV1"]!;
        Json("""{".":{},"f:containerPort":{}}""", fields["f:spec"]!["f:template"]!["f:spec"]!["f:containers"]!["k:{\"name\":\"a\"}"]!["f:ports"]!["k:{\"containerPort\":80}"]);
        Json("""{"v:\"a/x\"":{}}""", fields["f:metadata"]!["f:finalizers"]);
    }
}
