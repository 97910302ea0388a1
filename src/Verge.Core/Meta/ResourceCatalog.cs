namespace Verge.Core.Meta;

/// <summary>Every kind the API server serves, looked up by URL plural or by apiVersion and kind.</summary>
public static class ResourceCatalog
{
    private static readonly Dictionary<(string Group, string Version, string Plural), ResourceType> ByPlural = [];
    private static readonly Dictionary<(string ApiVersion, string Kind), ResourceType> ByKind = [];
    private static readonly Dictionary<Type, ResourceType> ByClrType = [];

    static ResourceCatalog()
    {
        All = KindRegistrations.Create();
        foreach (var type in All)
        {
            ByPlural[(type.Group, type.Version, type.Plural)] = type;
            ByKind[(type.ApiVersion, type.Kind)] = type;
            ByClrType[type.TypeInfo.Type] = type;
        }
    }

    public static IReadOnlyList<ResourceType> All { get; }

    public static ResourceType? Find(string group, string version, string plural) =>
        ByPlural.GetValueOrDefault((group, version, plural));

    public static ResourceType? FindByKind(string apiVersion, string kind) =>
        ByKind.GetValueOrDefault((apiVersion, kind));

    /// <summary>The registration of a CLR kind type, such as <c>typeof(Pod)</c>.</summary>
    public static ResourceType? FindByType(Type type) => ByClrType.GetValueOrDefault(type);

    /// <summary>The registration of <typeparamref name="T"/>; throws when the type is not a registered kind.</summary>
    public static ResourceType For<T>()
        where T : KubeObject =>
        FindByType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not a registered kind");
}
