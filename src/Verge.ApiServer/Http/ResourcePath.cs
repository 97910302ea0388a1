using Verge.Core.Meta;

namespace Verge.ApiServer.Http;

/// <summary>
/// A parsed resource URL: <c>/api/v1/namespaces/{ns}/{plural}[/{name}[/{subresource}]]</c>,
/// <c>/apis/{group}/{version}/...</c> and the cluster-scoped and all-namespaces forms.
/// </summary>
internal sealed record ResourcePath(ResourceType Type, string? Namespace, string? Name, string? Subresource)
{
    /// <summary>Whether the path names one object (as opposed to a collection).</summary>
    public bool IsItem => Name is not null;

    /// <summary>
    /// Parses the part of the path after the group-version (<paramref name="segments"/>), or throws a 404
    /// <see cref="ApiException"/> when it names nothing served.
    /// </summary>
    public static ResourcePath Parse(string group, string version, ReadOnlySpan<string> segments)
    {
        string? ns = null;
        if (segments.Length >= 3 && segments[0] == "namespaces" && segments[2] is not ("status" or "finalize"))
        {
            ns = segments[1];
            segments = segments[2..];
        }

        if (segments.Length is 0 or > 3)
        {
            throw ApiException.NotFoundPath();
        }

        var type = ResourceCatalog.Find(group, version, segments[0]) ?? throw ApiException.NotFoundPath();
        if (ns is not null && !type.Namespaced)
        {
            throw ApiException.NotFoundPath();
        }

        var name = segments.Length > 1 ? segments[1] : null;
        var subresource = segments.Length > 2 ? segments[2] : null;
        if (name is not null && type.Namespaced && ns is null)
        {
            // A namespaced object is addressed through its namespace only.
            throw ApiException.NotFoundPath();
        }

        if (subresource is not null
            && !(subresource == "status" && type.HasStatus)
            && !(subresource == "scale" && type.Scale is not null)
            && !(subresource is "binding" or "log" or "eviction" or "exec" && type.Kind == "Pod" && type.Group.Length == 0)
            && !(subresource == "finalize" && type.Kind == "Namespace" && type.Group.Length == 0))
        {
            throw ApiException.NotFoundPath();
        }

        return new ResourcePath(type, ns, name, subresource);
    }
}
