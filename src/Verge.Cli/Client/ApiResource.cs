using System.Globalization;

namespace Verge.Cli.Client;

/// <summary>One resource type as discovery describes it (an APIResourceList entry plus its group and version).</summary>
internal sealed record ApiResource(
    string Group,
    string Version,
    string Name,
    string SingularName,
    string Kind,
    bool Namespaced,
    IReadOnlyList<string> ShortNames)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>How kubectl names the type in result lines: <c>deployment.apps</c>, <c>namespace</c>.</summary>
    public string DisplayName
    {
        get
        {
#pragma warning disable CA1308 // kubectl prints kinds in lower case.
            var kind = Kind.ToLowerInvariant();
#pragma warning restore CA1308
            return Group.Length == 0 ? kind : $"{kind}.{Group}";
        }
    }

    /// <summary>The plural with its group, as error messages name it: <c>deployments.apps</c>.</summary>
    public string QualifiedName => Group.Length == 0 ? Name : $"{Name}.{Group}";

    /// <summary>The collection URL, in <paramref name="ns"/> for namespaced types (all namespaces when null).</summary>
    public string CollectionPath(string? ns)
    {
        var prefix = Group.Length == 0 ? $"/api/{Version}" : $"/apis/{Group}/{Version}";
        return Namespaced && !string.IsNullOrEmpty(ns)
            ? $"{prefix}/namespaces/{Uri.EscapeDataString(ns)}/{Name}"
            : $"{prefix}/{Name}";
    }

    /// <summary>The URL of one object.</summary>
    public string ItemPath(string? ns, string name) =>
        string.Create(CultureInfo.InvariantCulture, $"{CollectionPath(ns)}/{Uri.EscapeDataString(name)}");
}
