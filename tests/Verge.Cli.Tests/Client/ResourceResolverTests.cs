using System.Text.Json.Nodes;
using Verge.Cli.Client;

namespace Verge.Cli.Tests.Client;

public sealed class ResourceResolverTests
{
    private static readonly IReadOnlyList<ApiResource> Resources =
    [
        .. ResourceResolver.ParseResourceList(JsonNode.Parse("""
            {"kind":"APIResourceList","groupVersion":"v1","resources":[
              {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","shortNames":["po"]},
              {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod"},
              {"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","shortNames":["ns"]},
              {"name":"events","singularName":"event","namespaced":true,"kind":"Event","shortNames":["ev"]}]}
            """)!),
        .. ResourceResolver.ParseResourceList(JsonNode.Parse("""
            {"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
              {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","shortNames":["deploy"]},
              {"name":"deployments/scale","singularName":"","namespaced":true,"kind":"Scale"}]}
            """)!),
        .. ResourceResolver.ParseResourceList(JsonNode.Parse("""
            {"kind":"APIResourceList","groupVersion":"events.k8s.io/v1","resources":[
              {"name":"events","singularName":"event","namespaced":true,"kind":"Event","shortNames":["ev"]}]}
            """)!),
        .. ResourceResolver.ParseResourceList(JsonNode.Parse("""
            {"kind":"APIResourceList","groupVersion":"edge.verge.dev/v1","resources":[
              {"name":"sites","singularName":"site","namespaced":false,"kind":"Site"}]}
            """)!),
    ];

    [Theory]
    [InlineData("deployments")]
    [InlineData("deployment")]
    [InlineData("deploy")]
    [InlineData("Deployment")]
    [InlineData("DEPLOYMENTS")]
    [InlineData("deployments.apps")]
    [InlineData("deployment.apps")]
    [InlineData("deploy.APPS")]
    [InlineData("deployments.v1.apps")]
    public void Resolve_WhenAnyKubectlSpelling_FindsDeployments(string typed)
    {
        var resource = ResourceResolver.Resolve(Resources, typed);

        Assert.NotNull(resource);
        Assert.Equal(("apps", "v1", "deployments", "Deployment", true), (resource.Group, resource.Version, resource.Name, resource.Kind, resource.Namespaced));
    }

    [Theory]
    [InlineData("po", "pods")]
    [InlineData("ns", "namespaces")]
    [InlineData("site", "sites")]
    [InlineData("sites.edge.verge.dev", "sites")]
    public void Resolve_WhenShortOrGroupedName_FindsTheType(string typed, string plural)
    {
        Assert.Equal(plural, ResourceResolver.Resolve(Resources, typed)?.Name);
    }

    [Fact]
    public void Resolve_WhenNameInSeveralGroups_PrefersCoreGroupUnlessQualified()
    {
        Assert.Equal("", ResourceResolver.Resolve(Resources, "events")!.Group);
        Assert.Equal("events.k8s.io", ResourceResolver.Resolve(Resources, "events.events.k8s.io")!.Group);
    }

    [Theory]
    [InlineData("foo")]
    [InlineData("scale")]
    [InlineData("pods/status")]
    [InlineData("deployments.nosuchgroup")]
    [InlineData("")]
    public void Resolve_WhenUnknownOrSubresource_ReturnsNull(string typed)
    {
        Assert.Null(ResourceResolver.Resolve(Resources, typed));
    }

    [Fact]
    public void ParseResourceList_WhenSingularMissing_UsesLowerCaseKind()
    {
        var list = ResourceResolver.ParseResourceList(JsonNode.Parse("""
            {"groupVersion":"v1","resources":[{"name":"configmaps","singularName":"","namespaced":true,"kind":"ConfigMap"}]}
            """)!);

        Assert.Equal("configmap", Assert.Single(list).SingularName);
    }

    [Fact]
    public void Paths_WhenNamespacedOrClusterScoped_FollowKubernetesUrls()
    {
        var deployments = ResourceResolver.Resolve(Resources, "deploy")!;
        var namespaces = ResourceResolver.Resolve(Resources, "ns")!;

        Assert.Equal("/apis/apps/v1/namespaces/prod/deployments/web", deployments.ItemPath("prod", "web"));
        Assert.Equal("/apis/apps/v1/deployments", deployments.CollectionPath(null));
        Assert.Equal("/api/v1/namespaces/prod", namespaces.ItemPath("ignored", "prod"));
        Assert.Equal("deployment.apps", deployments.DisplayName);
        Assert.Equal("namespace", namespaces.DisplayName);
        Assert.Equal("deployments.apps", deployments.QualifiedName);
    }
}
