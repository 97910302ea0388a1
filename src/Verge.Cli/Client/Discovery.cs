using System.Text.Json.Nodes;

namespace Verge.Cli.Client;

/// <summary>
/// Reads the server's discovery documents (/api, /apis, and each preferred group version's APIResourceList) and
/// resolves what the user typed to a resource type, the way kubectl does.
/// </summary>
internal sealed class Discovery(KubeClient client)
{
    private readonly Dictionary<string, IReadOnlyList<ApiResource>?> _byGroupVersion = new(StringComparer.Ordinal);
    private IReadOnlyList<ApiResource>? _preferred;

    /// <summary>Resolves a name such as <c>deploy</c>, <c>Deployment</c>, <c>deployments.apps</c> or <c>deployment.v1.apps</c>.</summary>
    public async Task<ApiResource> ResolveAsync(string typed, CancellationToken ct)
    {
        _preferred ??= await LoadPreferredAsync(ct);
        return ResourceResolver.Resolve(_preferred, typed)
            ?? throw new CliException($"error: the server doesn't have a resource type \"{typed}\"");
    }

    /// <summary>The resource for an object's apiVersion and kind, or null when the server does not serve it.</summary>
    public async Task<ApiResource?> FindByKindAsync(string apiVersion, string kind, CancellationToken ct)
    {
        if (!_byGroupVersion.TryGetValue(apiVersion, out var resources))
        {
            var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
            var path = slash < 0 ? $"/api/{apiVersion}" : $"/apis/{apiVersion}";
            var list = await client.TryGetAsync(path, ct);
            resources = list is null ? null : ResourceResolver.ParseResourceList(list);
            _byGroupVersion[apiVersion] = resources;
        }

        return resources?.FirstOrDefault(r => string.Equals(r.Kind, kind, StringComparison.Ordinal));
    }

    private async Task<IReadOnlyList<ApiResource>> LoadPreferredAsync(CancellationToken ct)
    {
        var all = new List<ApiResource>();
        var core = await client.TryGetAsync("/api", ct);
        var coreVersion = core?["versions"] is JsonArray versions && versions.Count > 0 ? versions[0]?.GetValue<string>() : null;
        if (coreVersion is not null)
        {
            all.AddRange(await LoadGroupVersionAsync(coreVersion, ct));
        }

        var groups = await client.TryGetAsync("/apis", ct);
        foreach (var group in groups?["groups"] as JsonArray ?? [])
        {
            var groupVersion = group?["preferredVersion"]?["groupVersion"]?.GetValue<string>()
                ?? (group?["versions"] as JsonArray)?.FirstOrDefault()?["groupVersion"]?.GetValue<string>();
            if (groupVersion is not null)
            {
                all.AddRange(await LoadGroupVersionAsync(groupVersion, ct));
            }
        }

        return all;
    }

    private async Task<IReadOnlyList<ApiResource>> LoadGroupVersionAsync(string groupVersion, CancellationToken ct)
    {
        var path = groupVersion.Contains('/', StringComparison.Ordinal) ? $"/apis/{groupVersion}" : $"/api/{groupVersion}";
        var list = await client.TryGetAsync(path, ct);
        var resources = list is null ? [] : ResourceResolver.ParseResourceList(list);
        _byGroupVersion[groupVersion] = resources;
        return resources;
    }
}
