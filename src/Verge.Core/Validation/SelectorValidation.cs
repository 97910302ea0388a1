using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Core.Validation;

/// <summary>Validation of metav1.LabelSelector, as Kubernetes' ValidateLabelSelector does it.</summary>
public static class SelectorValidation
{
    public static void ValidateLabelSelector(LabelSelector? selector, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (selector is null)
        {
            return;
        }

        for (var i = 0; i < (selector.MatchExpressions?.Count ?? 0); i++)
        {
            var requirement = selector.MatchExpressions![i];
            var itemPath = $"{path}.matchExpressions[{i}]";
            switch (requirement.Operator)
            {
                case "In" or "NotIn":
                    if (requirement.Values is not { Count: > 0 })
                    {
                        errors.Add(FieldError.Required($"{itemPath}.values", "must be specified when `operator` is 'In' or 'NotIn'"));
                    }

                    break;
                case "Exists" or "DoesNotExist":
                    if (requirement.Values is { Count: > 0 })
                    {
                        errors.Add(FieldError.Forbidden($"{itemPath}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
                    }

                    break;
                default:
                    errors.Add(FieldError.Invalid($"{itemPath}.operator", requirement.Operator, "not a valid selector operator"));
                    break;
            }

            foreach (var message in NameValidation.IsQualifiedName(requirement.Key))
            {
                errors.Add(FieldError.Invalid($"{itemPath}.key", requirement.Key, message));
            }

            for (var v = 0; v < (requirement.Values?.Count ?? 0); v++)
            {
                foreach (var message in NameValidation.IsValidLabelValue(requirement.Values![v]))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.values[{v}]", requirement.Values[v], message));
                }
            }
        }

        MetadataValidation.ValidateLabels(selector.MatchLabels, $"{path}.matchLabels", errors);
    }

    /// <summary>Whether two selectors are equal field by field (for immutability checks).</summary>
    public static bool SemanticallyEqual(LabelSelector? a, LabelSelector? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        static bool MapEqual(Dictionary<string, string>? x, Dictionary<string, string>? y) =>
            (x?.Count ?? 0) == (y?.Count ?? 0)
            && (x ?? []).All(p => y!.TryGetValue(p.Key, out var v) && v == p.Value);

        var ea = a.MatchExpressions ?? [];
        var eb = b.MatchExpressions ?? [];
        return MapEqual(a.MatchLabels, b.MatchLabels)
            && ea.Count == eb.Count
            && ea.Zip(eb).All(p => p.First.Key == p.Second.Key
                && p.First.Operator == p.Second.Operator
                && (p.First.Values ?? []).SequenceEqual(p.Second.Values ?? [], StringComparer.Ordinal));
    }
}
