namespace Verge.Core.Meta;

/// <summary>Every kind the API server serves, looked up by URL plural or by apiVersion and kind.</summary>
public static class ResourceCatalog
{
    private static readonly Dictionary<(string Group, string Version, string Plural), ResourceType> ByPlural = [];
    private static readonly Dictionary<(string ApiVersion, string Kind), ResourceType> ByKind = [];

    static ResourceCatalog()
    {
        All = [];
        foreach (var type in All)
        {
            ByPlural[(type.Group, type.Version, type.Plural)] = type;
            ByKind[(type.ApiVersion, type.Kind)] = type;
        }
    }

    public static IReadOnlyList<ResourceType> All { get; }

    public static ResourceType? Find(string group, string version, string plural) =>
        ByPlural.GetValueOrDefault((group, version, plural));

    public static ResourceType? FindByKind(string apiVersion, string kind) =>
        ByKind.GetValueOrDefault((apiVersion, kind));
}
