using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.ApiServer.Watch;

/// <summary>Which objects of a kind a list or watch wants: a namespace, and label and field selectors.</summary>
internal sealed class WatchFilter(string? ns, LabelSelectorExpression? labels, FieldSelectorExpression? fields)
{
    public static WatchFilter All { get; } = new(null, null, null);

    public string? Namespace { get; } = ns;

    /// <summary>Whether deciding needs the decoded object (label or field selectors beyond name and namespace).</summary>
    public bool NeedsObject { get; } = labels is not null || fields is not null;

    public bool MatchesKey(string? ns, string name) => Namespace is null || Namespace == ns;

    public bool Matches(ResourceType type, KubeObject obj)
    {
        if (Namespace is not null && obj.Metadata.Namespace != Namespace)
        {
            return false;
        }

        if (labels is not null && !labels.Matches(obj.Metadata.Labels))
        {
            return false;
        }

        if (fields is not null)
        {
            Dictionary<string, string>? extra = null;
            return fields.Matches(field => field switch
            {
                "metadata.name" => obj.Metadata.Name,
                "metadata.namespace" => obj.Metadata.Namespace ?? "",
                _ => (extra ??= type.SelectableFields(obj).ToDictionary(p => p.Key, p => p.Value)).GetValueOrDefault(field),
            });
        }

        return true;
    }
}
