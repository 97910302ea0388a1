using System.Text;
using Verge.Core.Selectors;

namespace Verge.Core.Validation;

/// <summary>
/// A bad value rendered as Go's <c>%#v</c> would render it, so field errors read as the Kubernetes API server's
/// (for example <c>map[string]string{"app":"x"}</c>). <see cref="Meta.FieldError"/> prints it unquoted.
/// </summary>
internal sealed record GoValue(string Text)
{
    public override string ToString() => Text;

    public static GoValue Map(IReadOnlyDictionary<string, string>? map)
    {
        if (map is null)
        {
            return new GoValue("map[string]string(nil)");
        }

        var sb = new StringBuilder("map[string]string{");
        var first = true;
        foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!first)
            {
                sb.Append(", ");
            }

            first = false;
            sb.Append(Quote(key)).Append(':').Append(Quote(value));
        }

        return new GoValue(sb.Append('}').ToString());
    }

    public static GoValue Map(Dictionary<string, string>? map) => Map((IReadOnlyDictionary<string, string>?)map);

    public static GoValue Selector(LabelSelector? selector)
    {
        if (selector is null)
        {
            return new GoValue("(*v1.LabelSelector)(nil)");
        }

        var sb = new StringBuilder("&v1.LabelSelector{MatchLabels:");
        sb.Append(Map(selector.MatchLabels).Text).Append(", MatchExpressions:");
        if (selector.MatchExpressions is null)
        {
            sb.Append("[]v1.LabelSelectorRequirement(nil)");
        }
        else
        {
            sb.Append("[]v1.LabelSelectorRequirement{");
            sb.AppendJoin(", ", selector.MatchExpressions.Select(e =>
                $"v1.LabelSelectorRequirement{{Key:{Quote(e.Key)}, Operator:{Quote(e.Operator)}, Values:{Strings(e.Values)}}}"));
            sb.Append('}');
        }

        return new GoValue(sb.Append('}').ToString());
    }

    public static string Strings(IReadOnlyList<string>? values) =>
        values is null ? "[]string(nil)" : "[]string{" + string.Join(", ", values.Select(Quote)) + "}";

    public static string Quote(string s) =>
        "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
