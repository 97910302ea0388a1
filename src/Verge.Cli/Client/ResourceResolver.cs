using System.Text.Json.Nodes;

namespace Verge.Cli.Client;

/// <summary>
/// Pure resolution of a typed resource name against discovered resource types: plural, singular, short name or
/// Kind, case-insensitive, optionally qualified as <c>name.group</c> or <c>name.version.group</c>. On a tie the
/// earlier type in discovery order wins (the core group first, then groups as the server lists them).
/// </summary>
internal static class ResourceResolver
{
    public static ApiResource? Resolve(IReadOnlyList<ApiResource> resources, string typed)
    {
        if (string.IsNullOrWhiteSpace(typed))
        {
            return null;
        }

        typed = typed.Trim();
        var dot = typed.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var name = typed[..dot];
            var rest = typed[(dot + 1)..];
            var qualified = Best(resources.Where(r => string.Equals(r.Group, rest, StringComparison.OrdinalIgnoreCase)), name);
            if (qualified is not null)
            {
                return qualified;
            }

            var versionDot = rest.IndexOf('.', StringComparison.Ordinal);
            if (versionDot > 0)
            {
                var version = rest[..versionDot];
                var group = rest[(versionDot + 1)..];
                qualified = Best(
                    resources.Where(r => string.Equals(r.Group, group, StringComparison.OrdinalIgnoreCase)
                        && string.Equals(r.Version, version, StringComparison.OrdinalIgnoreCase)),
                    name);
                if (qualified is not null)
                {
                    return qualified;
                }
            }
        }

        return Best(resources, typed);
    }

    /// <summary>The types of an APIResourceList, without subresources (<c>pods/status</c>).</summary>
    public static IReadOnlyList<ApiResource> ParseResourceList(JsonNode list)
    {
        var groupVersion = list["groupVersion"]?.GetValue<string>() ?? "v1";
        var slash = groupVersion.IndexOf('/', StringComparison.Ordinal);
        var group = slash < 0 ? "" : groupVersion[..slash];
        var version = slash < 0 ? groupVersion : groupVersion[(slash + 1)..];
        var result = new List<ApiResource>();
        foreach (var item in list["resources"] as JsonArray ?? [])
        {
            var name = item?["name"]?.GetValue<string>();
            var kind = item?["kind"]?.GetValue<string>();
            if (name is null || kind is null || name.Contains('/', StringComparison.Ordinal))
            {
                continue;
            }

            var singular = item!["singularName"]?.GetValue<string>();
            var shortNames = (item["shortNames"] as JsonArray ?? [])
                .Select(s => s?.GetValue<string>())
                .OfType<string>()
                .ToList();
            result.Add(new ApiResource(
                group,
                version,
                name,
                string.IsNullOrEmpty(singular) ? LowerKind(kind) : singular,
                kind,
                item["namespaced"]?.GetValue<bool>() ?? false,
                shortNames));
        }

        return result;
    }

    private static ApiResource? Best(IEnumerable<ApiResource> candidates, string name)
    {
        ApiResource? best = null;
        var bestRank = int.MaxValue;
        foreach (var r in candidates)
        {
            var rank = Rank(r, name);
            if (rank < bestRank)
            {
                best = r;
                bestRank = rank;
            }
        }

        return best;
    }

    private static int Rank(ApiResource r, string name)
    {
        if (string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        if (string.Equals(r.SingularName, name, StringComparison.OrdinalIgnoreCase))
        {
            return 1;
        }

        if (r.ShortNames.Any(s => string.Equals(s, name, StringComparison.OrdinalIgnoreCase)))
        {
            return 2;
        }

        return string.Equals(r.Kind, name, StringComparison.OrdinalIgnoreCase) ? 3 : int.MaxValue;
    }

#pragma warning disable CA1308 // Resource names are lower case.
    private static string LowerKind(string kind) => kind.ToLowerInvariant();
#pragma warning restore CA1308
}
