using System.Text.Json.Nodes;
using Verge.ApiServer.OpenApi;
using Verge.Core.Meta;

namespace Verge.ApiServer.Tests.OpenApi;

/// <summary>The generator over Verge's real kinds, read the way kubectl reads the documents.</summary>
public sealed class CatalogOpenApiTests
{
    private static readonly OpenApiDocuments Documents = OpenApiDocuments.Build(ResourceCatalog.All);

    private static JsonNode Document(string group, string version) =>
        OpenApiDocumentsTests.Parse(Documents.GroupVersions[group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}"]);

    [Fact]
    public void Index_ListsEveryGroupVersionOfTheCatalog()
    {
        var expected = ResourceCatalog.All
            .Select(t => t.Group.Length == 0 ? $"api/{t.Version}" : $"apis/{t.Group}/{t.Version}")
            .Distinct()
            .Order(StringComparer.Ordinal);
        var index = OpenApiDocumentsTests.Parse(Documents.Index)["paths"]!.AsObject();

        Assert.NotEmpty(ResourceCatalog.All);
        Assert.Equal(expected, index.Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Deployment_Strategy_RetainsKeys_SoApplyCanSwitchToRecreate()
    {
        // Without it kubectl apply sent {"type":"Recreate"}, the defaulted rollingUpdate stayed, and validation refused.
        var strategy = OpenApiDocumentsTests.Parse(Documents.GroupVersions["apis/apps/v1"])["components"]!["schemas"]!["io.k8s.api.apps.v1.DeploymentSpec"]!["properties"]!["strategy"]!;

        Assert.Equal("retainKeys", strategy["x-kubernetes-patch-strategy"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy", strategy["allOf"]![0]!["$ref"]!.GetValue<string>());
    }

    [Fact]
    public void Deployment_ContainersOfItsPodTemplate_AreMergedByName()
    {
        var apps = Document("apps", "v1");

        var containers = KubectlReading.Explain(apps, "apps", "v1", "deployments", "spec", "template", "spec", "containers");

        Assert.NotNull(containers);
        Assert.Equal("name", containers["x-kubernetes-patch-merge-key"]!.GetValue<string>());
        Assert.Equal("merge", containers["x-kubernetes-patch-strategy"]!.GetValue<string>());
        Assert.Equal("map", containers["x-kubernetes-list-type"]!.GetValue<string>());
        var container = KubectlReading.Resolve(apps, containers["items"]!)!;
        Assert.Contains("name", container["required"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("#/components/schemas/io.k8s.api.core.v1.Container", containers["items"]!["$ref"]!.GetValue<string>());
        var deployment = apps["components"]!["schemas"]!["io.k8s.api.apps.v1.Deployment"]!;
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""[{"group":"apps","kind":"Deployment","version":"v1"}]"""),
            deployment["x-kubernetes-group-version-kind"]));
    }

    [Fact]
    public void Catalog_NamesSchemasLikeKubernetes()
    {
        var apps = Document("apps", "v1")["components"]!["schemas"]!.AsObject();
        var core = Document("", "v1")["components"]!["schemas"]!.AsObject();

        Assert.True(core.ContainsKey("io.k8s.api.core.v1.Pod"));
        Assert.True(apps.ContainsKey("io.k8s.api.core.v1.PodSpec"));
        Assert.True(apps.ContainsKey("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        Assert.True(apps.ContainsKey("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"));
        if (ResourceCatalog.FindByKind("edge.verge.dev/v1", "Device") is not null)
        {
            Assert.True(Document("edge.verge.dev", "v1")["components"]!["schemas"]!.AsObject().ContainsKey("dev.verge.edge.v1.Device"));
        }
    }

    [Fact]
    public void EveryReference_InEveryDocument_Resolves()
    {
        foreach (var (path, document) in Documents.GroupVersions)
        {
            OpenApiDocumentsTests.AssertReferencesResolve(OpenApiDocumentsTests.Parse(document), path);
        }

        var v2 = OpenApiDocumentsTests.Parse(Documents.V2);
        var definitions = v2["definitions"]!.AsObject();
        Assert.All(OpenApiDocuments.References(v2, "#/definitions/"), r => Assert.True(definitions.ContainsKey(r), r));
    }

    [Fact]
    public void EveryKind_OffersFieldValidation_AsKubectlChecks()
    {
        Assert.NotEmpty(ResourceCatalog.All);
        foreach (var type in ResourceCatalog.All)
        {
            var document = Document(type.Group, type.Version);

            Assert.True(KubectlReading.SupportsQueryParam(document, type.Group, type.Version, type.Kind, "fieldValidation"), type.Kind);
            Assert.NotNull(KubectlReading.Explain(document, type.Group, type.Version, type.Plural, "metadata", "name"));
        }
    }

    [Fact]
    public void Build_OverTheCatalogTwice_YieldsIdenticalDocuments()
    {
        var again = OpenApiDocuments.Build(ResourceCatalog.All);

        Assert.Equal(Documents.Index.Utf8Json, again.Index.Utf8Json);
        Assert.Equal(Documents.V2.Hash, again.V2.Hash);
    }
}
