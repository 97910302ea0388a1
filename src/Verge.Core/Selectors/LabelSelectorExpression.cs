using System.Globalization;
using System.Text;
using Verge.Core.Validation;

namespace Verge.Core.Selectors;

/// <summary>The operator of one label requirement.</summary>
public enum SelectorOperator
{
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// <summary>One requirement of a label selector, such as <c>tier in (a,b)</c> or <c>!canary</c>.</summary>
public sealed record LabelRequirement(string Key, SelectorOperator Operator, IReadOnlyList<string> Values)
{
    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        string? value = null;
        var has = labels is not null && labels.TryGetValue(Key, out value);
        switch (Operator)
        {
            case SelectorOperator.Equals or SelectorOperator.DoubleEquals or SelectorOperator.In:
                return has && Values.Contains(value!, StringComparer.Ordinal);
            case SelectorOperator.NotEquals or SelectorOperator.NotIn:
                return !has || !Values.Contains(value!, StringComparer.Ordinal);
            case SelectorOperator.Exists:
                return has;
            case SelectorOperator.DoesNotExist:
                return !has;
            case SelectorOperator.GreaterThan or SelectorOperator.LessThan:
                if (!has || !long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var actual)
                    || Values.Count != 1
                    || !long.TryParse(Values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound))
                {
                    return false;
                }

                return Operator == SelectorOperator.GreaterThan ? actual > bound : actual < bound;
            default:
                return false;
        }
    }

    /// <summary>The requirement in Kubernetes' string form (values of in/notin sorted).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Operator == SelectorOperator.DoesNotExist)
        {
            sb.Append('!');
        }

        sb.Append(Key);
        switch (Operator)
        {
            case SelectorOperator.Equals:
                sb.Append('=');
                break;
            case SelectorOperator.DoubleEquals:
                sb.Append("==");
                break;
            case SelectorOperator.NotEquals:
                sb.Append("!=");
                break;
            case SelectorOperator.In:
                sb.Append(" in ");
                break;
            case SelectorOperator.NotIn:
                sb.Append(" notin ");
                break;
            case SelectorOperator.GreaterThan:
                sb.Append('>');
                break;
            case SelectorOperator.LessThan:
                sb.Append('<');
                break;
            default:
                return sb.ToString();
        }

        if (Operator is SelectorOperator.In or SelectorOperator.NotIn)
        {
            sb.Append('(').AppendJoin(',', Values.Order(StringComparer.Ordinal)).Append(')');
        }
        else
        {
            sb.Append(Values.Count > 0 ? Values[0] : "");
        }

        return sb.ToString();
    }
}

/// <summary>
/// A parsed label selector, as used in <c>?labelSelector=</c>: comma-separated requirements that must all hold,
/// such as <c>app=web,tier!=db,env in (prod,staging),canary,!legacy</c>. The empty selector matches everything.
/// </summary>
public sealed class LabelSelectorExpression
{
    private LabelSelectorExpression(IReadOnlyList<LabelRequirement> requirements, bool matchesNothing = false)
    {
        Requirements = requirements;
        MatchesNothing = matchesNothing;
    }

    /// <summary>Matches every set of labels.</summary>
    public static LabelSelectorExpression Everything { get; } = new([]);

    /// <summary>Matches no set of labels (the meaning of a missing selector on a workload).</summary>
    public static LabelSelectorExpression Nothing { get; } = new([], matchesNothing: true);

    /// <summary>The requirements, sorted by key.</summary>
    public IReadOnlyList<LabelRequirement> Requirements { get; }

    public bool MatchesNothing { get; }

    public bool IsEmpty => !MatchesNothing && Requirements.Count == 0;

    /// <summary>Parses the string form.</summary>
    /// <exception cref="FormatException">The text does not parse; the message says where and why.</exception>
    public static LabelSelectorExpression Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        var requirements = new SelectorParser(text).ParseAll();
        return new LabelSelectorExpression(Sort(requirements));
    }

    public static bool TryParse(string? text, out LabelSelectorExpression selector, out string? error)
    {
        try
        {
            selector = Parse(text);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            selector = Nothing;
            error = e.Message;
            return false;
        }
    }

    /// <summary>Builds the matcher of a metav1.LabelSelector, as Kubernetes' LabelSelectorAsSelector does.</summary>
    /// <exception cref="FormatException">An unknown operator, or values that do not fit the operator.</exception>
    public static LabelSelectorExpression FromLabelSelector(LabelSelector? selector)
    {
        if (selector is null)
        {
            return Nothing;
        }

        if (selector.IsEmpty)
        {
            return Everything;
        }

        var requirements = new List<LabelRequirement>();
        foreach (var (key, value) in selector.MatchLabels ?? [])
        {
            requirements.Add(NewRequirement(key, SelectorOperator.Equals, [value]));
        }

        foreach (var expression in selector.MatchExpressions ?? [])
        {
            var op = expression.Operator switch
            {
                "In" => SelectorOperator.In,
                "NotIn" => SelectorOperator.NotIn,
                "Exists" => SelectorOperator.Exists,
                "DoesNotExist" => SelectorOperator.DoesNotExist,
                _ => throw new FormatException($"\"{expression.Operator}\" is not a valid label selector operator"),
            };
            requirements.Add(NewRequirement(expression.Key, op, expression.Values ?? []));
        }

        return new LabelSelectorExpression(Sort(requirements));
    }

    /// <summary>
    /// This selector with each of <paramref name="labels"/> required as well (<c>key=value</c>), as Kubernetes'
    /// mergeLabelSetWithSelector ANDs a pod's matchLabelKeys values into its spread selector. As there, a selector
    /// that matches nothing stays so.
    /// </summary>
    public LabelSelectorExpression WithLabels(IEnumerable<KeyValuePair<string, string>> labels)
    {
        if (MatchesNothing)
        {
            return this;
        }

        var requirements = new List<LabelRequirement>();
        foreach (var (key, value) in labels)
        {
            requirements.Add(new LabelRequirement(key, SelectorOperator.Equals, [value]));
        }

        requirements.AddRange(Requirements);
        return new LabelSelectorExpression(Sort(requirements));
    }

    /// <summary>Builds a requirement, checking the key, the values and their count as Kubernetes' NewRequirement does.</summary>
    /// <exception cref="FormatException">The requirement is not valid.</exception>
    public static LabelRequirement NewRequirement(string key, SelectorOperator op, IReadOnlyList<string> values)
    {
        var keyErrors = NameValidation.IsQualifiedName(key);
        if (keyErrors.Count > 0)
        {
            throw new FormatException($"key: Invalid value: \"{key}\": {string.Join("; ", keyErrors)}");
        }

        switch (op)
        {
            case SelectorOperator.In or SelectorOperator.NotIn:
                if (values.Count == 0)
                {
                    throw new FormatException("values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty");
                }

                break;
            case SelectorOperator.Equals or SelectorOperator.DoubleEquals or SelectorOperator.NotEquals:
                if (values.Count != 1)
                {
                    throw new FormatException("values: Invalid value: exact-match compatibility requires one single value");
                }

                break;
            case SelectorOperator.Exists or SelectorOperator.DoesNotExist:
                if (values.Count != 0)
                {
                    throw new FormatException("values: Invalid value: values set must be empty for exists and does not exist");
                }

                break;
            case SelectorOperator.GreaterThan or SelectorOperator.LessThan:
                if (values.Count != 1 || !long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                {
                    throw new FormatException("values: Invalid value: for 'Gt', 'Lt' operators, exactly one integer value is required");
                }

                break;
            default:
                throw new FormatException($"operator: Unsupported value: \"{op}\"");
        }

        if (op is not (SelectorOperator.GreaterThan or SelectorOperator.LessThan))
        {
            foreach (var value in values)
            {
                var valueErrors = NameValidation.IsValidLabelValue(value);
                if (valueErrors.Count > 0)
                {
                    throw new FormatException($"values[0]: Invalid value: \"{value}\": {string.Join("; ", valueErrors)}");
                }
            }
        }

        return new LabelRequirement(key, op, values.ToArray());
    }

    /// <summary>Whether every requirement holds for <paramref name="labels"/> (null means no labels).</summary>
    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        if (MatchesNothing)
        {
            return false;
        }

        foreach (var requirement in Requirements)
        {
            if (!requirement.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Matches a mutable dictionary of labels.</summary>
    public bool Matches(Dictionary<string, string>? labels) => Matches((IReadOnlyDictionary<string, string>?)labels);

    /// <summary>The string form, requirements sorted by key (as <c>status.selector</c> of a scale shows it).</summary>
    public override string ToString() => string.Join(',', Requirements.Select(r => r.ToString()));

    private static LabelRequirement[] Sort(List<LabelRequirement> requirements) =>
        [.. requirements.OrderBy(r => r.Key, StringComparer.Ordinal)];
}
