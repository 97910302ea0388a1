using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.ApiServer.OpenApi;

namespace Verge.ApiServer.Tests.OpenApi;

public sealed class OpenApiDocumentsTests
{
    private const string Widget = "io.k8s.api.apps.v1.Widget";
    private const string WidgetSpec = "io.k8s.api.apps.v1.WidgetSpec";

    private static readonly OpenApiDocuments Documents = OpenApiDocuments.Build(TestCatalog.Types);

    private static JsonNode Apps => Parse(Documents.GroupVersions["apis/apps/v1"]);

    private static JsonNode Schema(JsonNode document, string name) => document["components"]!["schemas"]![name]!;

    [Fact]
    public void Index_ListsEveryGroupVersion_WithTheHashOfItsDocument()
    {
        var index = Parse(Documents.Index)["paths"]!.AsObject();

        Assert.Equal(["api/v1", "apis/apps/v1", "apis/edge.verge.dev/v1"], index.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (path, entry) in index)
        {
            var document = Documents.GroupVersions[path];
            Assert.Equal($"/openapi/v3/{path}?hash={document.Hash}", entry!["serverRelativeURL"]!.GetValue<string>());
            Assert.Equal(128, document.Hash.Length);
        }
    }

    [Fact]
    public void Document_KindSchema_CarriesGroupVersionKindAndDescription()
    {
        var widget = Schema(Apps, Widget);

        var gvk = Assert.Single(widget["x-kubernetes-group-version-kind"]!.AsArray());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"group":"apps","kind":"Widget","version":"v1"}"""), gvk));
        Assert.Equal("Widget is a test kind with a spec and a status.", widget["description"]!.GetValue<string>());
        var core = Schema(Parse(Documents.GroupVersions["api/v1"]), "io.k8s.api.core.v1.Thing");
        Assert.Equal("", core["x-kubernetes-group-version-kind"]![0]!["group"]!.GetValue<string>());
    }

    [Fact]
    public void Document_VergeGroup_NamesSchemasByReversedDomain()
    {
        var edge = Parse(Documents.GroupVersions["apis/edge.verge.dev/v1"]);

        Assert.NotNull(Schema(edge, "dev.verge.edge.v1.Gadget"));
        Assert.NotNull(Schema(edge, "dev.verge.edge.v1.GadgetSpec"));
        Assert.NotNull(Schema(edge, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
    }

    [Fact]
    public void Document_WhenListHasMergeKey_PublishesPatchExtensionsAndRequiresTheKey()
    {
        var parts = Schema(Apps, WidgetSpec)["properties"]!["parts"]!;

        Assert.Equal("name", parts["x-kubernetes-patch-merge-key"]!.GetValue<string>());
        Assert.Equal("merge", parts["x-kubernetes-patch-strategy"]!.GetValue<string>());
        Assert.Equal("map", parts["x-kubernetes-list-type"]!.GetValue<string>());
        Assert.Equal(["name"], parts["x-kubernetes-list-map-keys"]!.AsArray().Select(k => k!.GetValue<string>()));
        Assert.Equal("#/components/schemas/io.k8s.api.apps.v1.Part", parts["items"]!["$ref"]!.GetValue<string>());
        var required = Schema(Apps, "io.k8s.api.apps.v1.Part")["required"]!.AsArray().Select(r => r!.GetValue<string>());
        Assert.Equal(["image", "name"], required);
    }

    [Fact]
    public void Document_MergeSetAndPlainLists_AreSetAndAtomic()
    {
        var properties = Schema(Apps, WidgetSpec)["properties"]!;

        Assert.Equal("set", properties["tags"]!["x-kubernetes-list-type"]!.GetValue<string>());
        Assert.Equal("merge", properties["tags"]!["x-kubernetes-patch-strategy"]!.GetValue<string>());
        Assert.Equal("atomic", properties["args"]!["x-kubernetes-list-type"]!.GetValue<string>());
        Assert.Null(properties["args"]!["x-kubernetes-patch-strategy"]);
        Assert.Equal("Arguments, replaced as a whole.", properties["args"]!["description"]!.GetValue<string>());
        var finalizers = Schema(Apps, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")["properties"]!["finalizers"]!;
        Assert.Equal("set", finalizers["x-kubernetes-list-type"]!.GetValue<string>());
        var owners = Schema(Apps, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")["properties"]!["ownerReferences"]!;
        Assert.Equal("uid", owners["x-kubernetes-patch-merge-key"]!.GetValue<string>());
    }

    [Fact]
    public void Document_DescribedReference_IsWrappedInAllOf()
    {
        var spec = Schema(Apps, Widget)["properties"]!["spec"]!;
        var status = Schema(Apps, Widget)["properties"]!["status"]!;

        Assert.Equal("The desired state.", spec["description"]!.GetValue<string>());
        Assert.Equal($"#/components/schemas/{WidgetSpec}", spec["allOf"]![0]!["$ref"]!.GetValue<string>());
        Assert.Null(spec["$ref"]);
        Assert.Equal("#/components/schemas/io.k8s.api.apps.v1.WidgetStatus", status["$ref"]!.GetValue<string>());
    }

    [Fact]
    public void Document_SpecialTypes_HaveKubernetesShapes()
    {
        var properties = Schema(Apps, WidgetSpec)["properties"]!;

        Assert.Equal("object", properties["labels"]!["type"]!.GetValue<string>());
        Assert.Equal("string", properties["labels"]!["additionalProperties"]!["type"]!.GetValue<string>());
        Assert.Equal(
            "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity",
            properties["limits"]!["additionalProperties"]!["$ref"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString", properties["port"]!["$ref"]!.GetValue<string>());
        Assert.True(properties["config"]!["x-kubernetes-preserve-unknown-fields"]!.GetValue<bool>());
        Assert.Equal("object", properties["config"]!["type"]!.GetValue<string>());
        Assert.Equal(("string", "byte"), (properties["blob"]!["type"]!.GetValue<string>(), properties["blob"]!["format"]!.GetValue<string>()));
        Assert.Equal(("string", "date-time"), (properties["at"]!["type"]!.GetValue<string>(), properties["at"]!["format"]!.GetValue<string>()));
        Assert.Equal(("integer", "int64"), (properties["size"]!["type"]!.GetValue<string>(), properties["size"]!["format"]!.GetValue<string>()));
        Assert.Equal(("integer", "int32"), (properties["replicas"]!["type"]!.GetValue<string>(), properties["replicas"]!["format"]!.GetValue<string>()));
        Assert.Equal(["Fast", "Slow"], properties["mode"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        var intOrString = Schema(Apps, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
        Assert.True(intOrString["x-kubernetes-int-or-string"]!.GetValue<bool>());
        Assert.Equal(["integer", "string"], intOrString["oneOf"]!.AsArray().Select(o => o!["type"]!.GetValue<string>()));
        var quantity = Schema(Apps, "io.k8s.apimachinery.pkg.api.resource.Quantity");
        Assert.Equal(["string", "number"], quantity["oneOf"]!.AsArray().Select(o => o!["type"]!.GetValue<string>()));
    }

    [Fact]
    public void Document_SelfReferencingType_IsOneSchemaReferringToItself()
    {
        var node = Schema(Apps, "io.k8s.api.apps.v1.TreeNode");

        Assert.Equal(
            "#/components/schemas/io.k8s.api.apps.v1.TreeNode",
            node["properties"]!["children"]!["items"]!["$ref"]!.GetValue<string>());
    }

    [Fact]
    public void EveryDocument_ReferencesOnlySchemasItDefines()
    {
        foreach (var (path, document) in Documents.GroupVersions)
        {
            AssertReferencesResolve(Parse(document), path);
        }

        var v2 = Parse(Documents.V2);
        var definitions = v2["definitions"]!.AsObject();
        var references = OpenApiDocuments.References(v2, "#/definitions/").ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.True(definitions.ContainsKey(r), $"v2 references missing {r}"));
        Assert.Empty(OpenApiDocuments.References(v2, "#/components/schemas/"));
    }

    [Fact]
    public void EveryKind_PatchOperations_OfferFieldValidation_AsKubectlChecks()
    {
        foreach (var type in TestCatalog.Types)
        {
            var document = Parse(Documents.GroupVersions[type.Group.Length == 0 ? $"api/{type.Version}" : $"apis/{type.Group}/{type.Version}"]);

            Assert.True(KubectlReading.SupportsQueryParam(document, type.Group, type.Version, type.Kind, "fieldValidation"), type.Kind);
            Assert.False(KubectlReading.SupportsQueryParam(document, type.Group, type.Version, type.Kind, "noSuchParameter"), type.Kind);
        }
    }

    [Fact]
    public void EveryWriteOperation_HasFieldValidationFieldManagerAndDryRun()
    {
        foreach (var (_, document) in Documents.GroupVersions)
        {
            foreach (var (_, item) in Parse(document)["paths"]!.AsObject())
            {
                foreach (var method in new[] { "post", "put", "patch" })
                {
                    if (item![method] is not { } operation)
                    {
                        continue;
                    }

                    var names = operation["parameters"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToList();
                    Assert.Contains("fieldValidation", names);
                    Assert.Contains("fieldManager", names);
                    Assert.Contains("dryRun", names);
                    Assert.Equal(method == "patch", names.Contains("force"));
                    Assert.NotNull(operation["x-kubernetes-group-version-kind"]);
                    Assert.Equal(method, operation["x-kubernetes-action"]!.GetValue<string>());
                    Assert.NotNull(operation["requestBody"]!["content"]);
                }
            }
        }
    }

    [Fact]
    public void ListOperation_OffersSelectorsPagingAndWatch()
    {
        var list = Apps["paths"]!["/apis/apps/v1/namespaces/{namespace}/widgets"]!["get"]!;
        var names = list["parameters"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToList();

        Assert.Equal("list", list["x-kubernetes-action"]!.GetValue<string>());
        foreach (var name in new[] { "labelSelector", "fieldSelector", "limit", "continue", "watch", "resourceVersion", "timeoutSeconds", "allowWatchBookmarks" })
        {
            Assert.Contains(name, names);
        }

        Assert.Equal(
            "#/components/schemas/io.k8s.api.apps.v1.WidgetList",
            list["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        var widgetList = Schema(Apps, "io.k8s.api.apps.v1.WidgetList");
        Assert.Equal("WidgetList", widgetList["x-kubernetes-group-version-kind"]![0]!["kind"]!.GetValue<string>());
    }

    [Fact]
    public void Paths_FollowScopeAndSubresources()
    {
        var paths = Apps["paths"]!.AsObject();
        var edgePaths = Parse(Documents.GroupVersions["apis/edge.verge.dev/v1"])["paths"]!.AsObject();

        Assert.Equal(
            [
                "/apis/apps/v1/namespaces/{namespace}/widgets",
                "/apis/apps/v1/namespaces/{namespace}/widgets/{name}",
                "/apis/apps/v1/namespaces/{namespace}/widgets/{name}/scale",
                "/apis/apps/v1/namespaces/{namespace}/widgets/{name}/status",
                "/apis/apps/v1/widgets",
            ],
            paths.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["/apis/edge.verge.dev/v1/gadgets", "/apis/edge.verge.dev/v1/gadgets/{name}"], edgePaths.Select(p => p.Key).Order(StringComparer.Ordinal));
        var scale = paths["/apis/apps/v1/namespaces/{namespace}/widgets/{name}/scale"]!["patch"]!;
        Assert.Equal("autoscaling", scale["x-kubernetes-group-version-kind"]!["group"]!.GetValue<string>());
        Assert.Equal("io.k8s.api.autoscaling.v1.Scale", scale["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>()["#/components/schemas/".Length..]);
        Assert.Equal("deletecollection", paths["/apis/apps/v1/namespaces/{namespace}/widgets"]!["delete"]!["x-kubernetes-action"]!.GetValue<string>());
        var statusKind = Schema(Apps, "io.k8s.apimachinery.pkg.apis.meta.v1.Status")["x-kubernetes-group-version-kind"]![0]!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"group":"","kind":"Status","version":"v1"}"""), statusKind));
        foreach (var name in new[] { "Status", "DeleteOptions", "Patch" })
        {
            Assert.NotNull(Schema(Apps, $"io.k8s.apimachinery.pkg.apis.meta.v1.{name}"));
        }
    }

    [Fact]
    public void Explain_FindsKindAndFollowsFieldsThroughReferences()
    {
        var field = KubectlReading.Explain(Apps, "apps", "v1", "widgets", "spec", "root", "children");

        Assert.NotNull(field);
        Assert.Equal("array", field["type"]!.GetValue<string>());
        Assert.NotNull(KubectlReading.Explain(Apps, "apps", "v1", "widgets", "metadata", "labels"));
        Assert.NotNull(KubectlReading.Explain(Parse(Documents.GroupVersions["apis/edge.verge.dev/v1"]), "edge.verge.dev", "v1", "gadgets", "spec", "model"));
        Assert.Null(KubectlReading.Explain(Apps, "apps", "v1", "widgets", "spec", "nonexistent"));
    }

    [Fact]
    public void V2_DefinesTheSameSchemaNamesAsV3_WithDefinitionReferences()
    {
        var v2 = Parse(Documents.V2);
        var v3Names = Documents.GroupVersions.Values
            .SelectMany(d => Parse(d)["components"]!["schemas"]!.AsObject().Select(s => s.Key))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal("2.0", v2["swagger"]!.GetValue<string>());
        Assert.Equal(v3Names.Order(StringComparer.Ordinal), v2["definitions"]!.AsObject().Select(d => d.Key).Order(StringComparer.Ordinal));
        var spec = v2["definitions"]![Widget]!["properties"]!["spec"]!;
        Assert.Equal($"#/definitions/{WidgetSpec}", spec["$ref"]!.GetValue<string>());
        Assert.Equal("The desired state.", spec["description"]!.GetValue<string>());
        Assert.Equal("int-or-string", v2["definitions"]!["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]!["format"]!.GetValue<string>());
        Assert.Equal("map", v2["definitions"]![WidgetSpec]!["properties"]!["parts"]!["x-kubernetes-list-type"]!.GetValue<string>());
        var patch = v2["paths"]!["/apis/apps/v1/namespaces/{namespace}/widgets/{name}"]!["patch"]!;
        Assert.Contains(patch["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "fieldValidation" && p["type"]!.GetValue<string>() == "string");
        Assert.Contains(patch["parameters"]!.AsArray(), p => p!["in"]!.GetValue<string>() == "body");
    }

    [Fact]
    public void Build_TwiceFromTheSameCatalog_YieldsIdenticalBytes()
    {
        var again = OpenApiDocuments.Build([.. TestCatalog.Types.Reverse()]);

        Assert.Equal(Documents.Index.Utf8Json, again.Index.Utf8Json);
        Assert.Equal(Documents.V2.Utf8Json, again.V2.Utf8Json);
        foreach (var (path, document) in Documents.GroupVersions)
        {
            Assert.Equal(document.Hash, again.GroupVersions[path].Hash);
            Assert.Equal(document.Utf8Json, again.GroupVersions[path].Utf8Json);
        }
    }

    [Fact]
    public void Documents_AreValidJson_WithSortedKeys()
    {
        foreach (var document in Documents.GroupVersions.Values.Append(Documents.Index).Append(Documents.V2))
        {
            using var parsed = JsonDocument.Parse(document.Utf8Json);
            var keys = parsed.RootElement.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        }

        Assert.Equal("3.0.0", Apps["openapi"]!.GetValue<string>());
        Assert.True(Documents.TryGetGroupVersion("/apis/apps/v1", out _));
        Assert.False(Documents.TryGetGroupVersion("apis/batch/v1", out _));
    }

    [Fact]
    public void Build_WithEmptyCatalog_ServesAnEmptyIndex()
    {
        var empty = OpenApiDocuments.Build([]);

        Assert.Equal("""{"paths":{}}""", System.Text.Encoding.UTF8.GetString(empty.Index.Utf8Json));
        Assert.Empty(empty.GroupVersions);
    }

    internal static JsonNode Parse(OpenApiDocument document) => JsonNode.Parse(document.Utf8Json)!;

    internal static void AssertReferencesResolve(JsonNode document, string path)
    {
        var schemas = document["components"]!["schemas"]!.AsObject();
        var references = OpenApiDocuments.References(document, "#/components/schemas/").ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.True(schemas.ContainsKey(r), $"{path} references missing {r}"));
    }
}
