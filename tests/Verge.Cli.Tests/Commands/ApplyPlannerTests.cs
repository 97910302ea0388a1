using System.Text.Json.Nodes;
using Verge.Cli.Client;
using Verge.Cli.Commands;
using Verge.Cli.Manifests;

namespace Verge.Cli.Tests.Commands;

public sealed class ApplyPlannerTests
{
    private static readonly ApiResource Deployments = new("apps", "v1", "deployments", "deployment", "Deployment", true, ["deploy"]);
    private static readonly ApiResource Namespaces = new("", "v1", "namespaces", "namespace", "Namespace", false, ["ns"]);

    private static ManifestObject Manifest(string json) => new("m.yaml", JsonNode.Parse(json)!.AsObject());

    [Fact]
    public void Plan_WhenObjectHasNamespace_UsesIt()
    {
        var target = ApplyPlanner.Plan(Manifest("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"prod"}}"""), Deployments, null, "ctx");

        Assert.Equal("/apis/apps/v1/namespaces/prod/deployments/web", target.ItemPath);
        Assert.Equal("/apis/apps/v1/namespaces/prod/deployments/web?fieldManager=verge&force=true", target.PatchPath);
    }

    [Fact]
    public void Plan_WhenObjectHasNoNamespace_UsesFlagThenContext()
    {
        var manifest = Manifest("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"}}""");

        var fromFlag = ApplyPlanner.Plan(manifest, Deployments, "edge", "ctx");
        var fromContext = ApplyPlanner.Plan(manifest, Deployments, null, "ctx");

        Assert.Equal("/apis/apps/v1/namespaces/edge/deployments/web", fromFlag.ItemPath);
        Assert.Equal("edge", JsonNode.Parse(fromFlag.Body)!["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("/apis/apps/v1/namespaces/ctx/deployments/web", fromContext.ItemPath);
    }

    [Fact]
    public void Plan_WhenFlagContradictsObjectNamespace_Refuses()
    {
        var manifest = Manifest("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"prod"}}""");

        var e = Assert.Throws<CliException>(() => ApplyPlanner.Plan(manifest, Deployments, "dev", "ctx"));
        Assert.Contains("does not match the namespace \"dev\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_WhenClusterScoped_IgnoresNamespaces()
    {
        var target = ApplyPlanner.Plan(Manifest("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"factory","namespace":"x"}}"""), Namespaces, "edge", "ctx");

        Assert.Equal("/api/v1/namespaces/factory", target.ItemPath);
        Assert.Null(target.Namespace);
        Assert.Null(JsonNode.Parse(target.Body)!["metadata"]!["namespace"]);
    }

    [Theory]
    [InlineData(201, "5", "6", "created")]
    [InlineData(200, null, "6", "created")]
    [InlineData(200, "5", "6", "configured")]
    [InlineData(200, "5", "5", "unchanged")]
    public void Outcome_WhenCodeAndVersionsGiven_NamesTheResult(int code, string? before, string? after, string expected)
    {
        Assert.Equal(expected, ApplyPlanner.Outcome(code, before, after));
    }

    [Fact]
    public void Message_WhenGroupedKind_ReadsLikeKubectl()
    {
        var target = ApplyPlanner.Plan(Manifest("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"edge-microservice"}}"""), Deployments, null, "default");

        Assert.Equal("deployment.apps/edge-microservice configured", ApplyPlanner.Message(target, "configured"));
    }
}
