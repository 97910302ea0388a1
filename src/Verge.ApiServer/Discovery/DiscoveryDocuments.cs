using System.Text.Json;
using Verge.Core.Meta;

namespace Verge.ApiServer.Discovery;

/// <summary>
/// The discovery documents, built once from the catalog: <c>/version</c>, <c>/api</c> and <c>/apis</c> (plain and
/// aggregated, apidiscovery.k8s.io/v2, which kubectl asks for first), and each group-version's APIResourceList.
/// </summary>
internal sealed class DiscoveryDocuments
{
    public const string AggregatedMediaType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

    private static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    private static readonly string[] NamespaceVerbs = ["create", "delete", "get", "list", "patch", "update", "watch"];

    private static string[] VerbsOf(ResourceType type) =>
        type.Kind == "Namespace" && type.Group.Length == 0 ? NamespaceVerbs
        : Security.AccessReviews.IsReview(type) ? ["create"]
        : AllVerbs;
    private static readonly string[] SubresourceVerbs = ["get", "patch", "update"];

    private readonly Dictionary<string, byte[]> _resourceLists = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _groups = new(StringComparer.Ordinal);

    public DiscoveryDocuments(IReadOnlyList<ResourceType> types, string gitVersion)
    {
        var groups = types.GroupBy(t => t.Group).OrderBy(g => g.Key.Length == 0 ? "" : g.Key, StringComparer.Ordinal).ToList();
        Version = Json(w =>
        {
            w.WriteString("major", "1");
            w.WriteString("minor", "32");
            w.WriteString("gitVersion", gitVersion);
            w.WriteString("gitCommit", "");
            w.WriteString("gitTreeState", "clean");
            w.WriteString("buildDate", "");
            w.WriteString("goVersion", $".NET {Environment.Version}");
            w.WriteString("compiler", "dotnet");
            w.WriteString("platform", $"{(OperatingSystem.IsLinux() ? "linux" : "other")}/{System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant().Replace("x64", "amd64", StringComparison.Ordinal)}");
        });
        Api = Json(w =>
        {
            w.WriteString("kind", "APIVersions");
            w.WriteStartArray("versions");
            w.WriteStringValue("v1");
            w.WriteEndArray();
            w.WriteStartArray("serverAddressByClientCIDRs");
            w.WriteEndArray();
        });
        foreach (var group in groups.Where(g => g.Key.Length > 0))
        {
            _groups[group.Key] = Json(w =>
            {
                w.WriteString("kind", "APIGroup");
                w.WriteString("apiVersion", "v1");
                WriteGroupBody(w, group);
            });
        }

        Apis = Json(w =>
        {
            w.WriteString("kind", "APIGroupList");
            w.WriteString("apiVersion", "v1");
            w.WriteStartArray("groups");
            foreach (var group in groups.Where(g => g.Key.Length > 0))
            {
                w.WriteStartObject();
                WriteGroupBody(w, group);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
        ApiAggregated = Aggregated(groups.Where(g => g.Key.Length == 0));
        ApisAggregated = Aggregated(groups.Where(g => g.Key.Length > 0));
        foreach (var byVersion in types.GroupBy(t => t.ApiVersion))
        {
            _resourceLists[byVersion.Key] = Json(w =>
            {
                w.WriteString("kind", "APIResourceList");
                w.WriteString("apiVersion", "v1");
                w.WriteString("groupVersion", byVersion.Key);
                w.WriteStartArray("resources");
                foreach (var type in byVersion.OrderBy(t => t.Plural, StringComparer.Ordinal))
                {
                    WriteResource(w, type);
                }

                w.WriteEndArray();
            });
        }
    }

    public byte[] Version { get; }

    public byte[] Api { get; }

    public byte[] Apis { get; }

    public byte[] ApiAggregated { get; }

    public byte[] ApisAggregated { get; }

    /// <summary>The APIGroup document of a named group (<c>/apis/{group}</c>), or null.</summary>
    public byte[]? Group(string name) => _groups.GetValueOrDefault(name);

    private static void WriteGroupBody(Utf8JsonWriter w, IGrouping<string, ResourceType> group)
    {
        w.WriteString("name", group.Key);
        w.WriteStartArray("versions");
        foreach (var version in group.Select(t => t.Version).Distinct())
        {
            w.WriteStartObject();
            w.WriteString("groupVersion", $"{group.Key}/{version}");
            w.WriteString("version", version);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        var preferred = group.First().Version;
        w.WriteStartObject("preferredVersion");
        w.WriteString("groupVersion", $"{group.Key}/{preferred}");
        w.WriteString("version", preferred);
        w.WriteEndObject();
    }

    /// <summary>The APIResourceList of <c>group/version</c> (or <c>v1</c> for the core group), or null.</summary>
    public byte[]? ResourceList(string apiVersion) => _resourceLists.GetValueOrDefault(apiVersion);

    private static void WriteResource(Utf8JsonWriter w, ResourceType type)
    {
        w.WriteStartObject();
        w.WriteString("name", type.Plural);
        w.WriteString("singularName", type.Singular);
        w.WriteBoolean("namespaced", type.Namespaced);
        w.WriteString("kind", type.Kind);
        WriteStrings(w, "verbs", VerbsOf(type));
        if (type.ShortNames.Count > 0)
        {
            WriteStrings(w, "shortNames", type.ShortNames);
        }

        if (type.Categories.Count > 0)
        {
            WriteStrings(w, "categories", type.Categories);
        }

        w.WriteEndObject();
        foreach (var (sub, group, version, kind, verbs) in Subresources(type))
        {
            w.WriteStartObject();
            w.WriteString("name", $"{type.Plural}/{sub}");
            w.WriteString("singularName", "");
            w.WriteBoolean("namespaced", type.Namespaced);
            if (group is not null)
            {
                w.WriteString("group", group);
                w.WriteString("version", version);
            }

            w.WriteString("kind", kind);
            WriteStrings(w, "verbs", verbs);
            w.WriteEndObject();
        }
    }

    private static IEnumerable<(string Sub, string? Group, string? Version, string Kind, string[] Verbs)> Subresources(ResourceType type)
    {
        if (type.HasStatus)
        {
            yield return ("status", null, null, type.Kind, SubresourceVerbs);
        }

        if (type.Scale is not null)
        {
            yield return ("scale", "autoscaling", "v1", "Scale", SubresourceVerbs);
        }

        if (type.Kind == "Pod" && type.Group.Length == 0)
        {
            yield return ("binding", null, null, "Binding", ["create"]);
            yield return ("eviction", "policy", "v1", "Eviction", ["create"]);
        }
    }

    private static byte[] Aggregated(IEnumerable<IGrouping<string, ResourceType>> groups) => Json(w =>
    {
        w.WriteString("kind", "APIGroupDiscoveryList");
        w.WriteString("apiVersion", "apidiscovery.k8s.io/v2");
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteStartArray("items");
        foreach (var group in groups)
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            if (group.Key.Length > 0)
            {
                w.WriteString("name", group.Key);
            }

            w.WriteEndObject();
            w.WriteStartArray("versions");
            foreach (var byVersion in group.GroupBy(t => t.Version))
            {
                w.WriteStartObject();
                w.WriteString("version", byVersion.Key);
                w.WriteStartArray("resources");
                foreach (var type in byVersion.OrderBy(t => t.Plural, StringComparer.Ordinal))
                {
                    w.WriteStartObject();
                    w.WriteString("resource", type.Plural);
                    WriteKind(w, "responseKind", type.Group, type.Version, type.Kind);
                    w.WriteString("scope", type.Namespaced ? "Namespaced" : "Cluster");
                    w.WriteString("singularResource", type.Singular);
                    WriteStrings(w, "verbs", VerbsOf(type));
                    if (type.ShortNames.Count > 0)
                    {
                        WriteStrings(w, "shortNames", type.ShortNames);
                    }

                    if (type.Categories.Count > 0)
                    {
                        WriteStrings(w, "categories", type.Categories);
                    }

                    w.WriteStartArray("subresources");
                    foreach (var (sub, g, v, kind, verbs) in Subresources(type))
                    {
                        w.WriteStartObject();
                        w.WriteString("subresource", sub);
                        WriteKind(w, "responseKind", g ?? type.Group, v ?? type.Version, kind);
                        WriteStrings(w, "verbs", verbs);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteString("freshness", "Current");
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private static void WriteKind(Utf8JsonWriter w, string name, string group, string version, string kind)
    {
        w.WriteStartObject(name);
        w.WriteString("group", group);
        w.WriteString("version", version);
        w.WriteString("kind", kind);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
