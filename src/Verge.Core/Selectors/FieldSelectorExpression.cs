using System.Text;

namespace Verge.Core.Selectors;

/// <summary>One term of a field selector, such as <c>spec.nodeName!=edge-1</c>.</summary>
public sealed record FieldRequirement(string Field, bool Negated, string Value)
{
    public bool Matches(Func<string, string?> fieldValue)
    {
        ArgumentNullException.ThrowIfNull(fieldValue);
        var actual = fieldValue(Field) ?? "";
        return string.Equals(actual, Value, StringComparison.Ordinal) != Negated;
    }

    public override string ToString() => $"{Escape(Field)}{(Negated ? "!=" : "=")}{Escape(Value)}";

    private static string Escape(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal);
}

/// <summary>
/// A parsed field selector, as used in <c>?fieldSelector=</c>: comma-separated terms <c>field=value</c>,
/// <c>field==value</c> or <c>field!=value</c> that must all hold. <c>\,</c>, <c>\=</c> and <c>\\</c> escape.
/// </summary>
public sealed class FieldSelectorExpression
{
    private FieldSelectorExpression(IReadOnlyList<FieldRequirement> requirements) => Requirements = requirements;

    public static FieldSelectorExpression Everything { get; } = new([]);

    public IReadOnlyList<FieldRequirement> Requirements { get; }

    /// <summary>The distinct field names the selector uses, so the server can reject unsupported ones.</summary>
    public IReadOnlyList<string> Fields => [.. Requirements.Select(r => r.Field).Distinct(StringComparer.Ordinal)];

    public bool IsEmpty => Requirements.Count == 0;

    /// <summary>Parses the string form.</summary>
    /// <exception cref="FormatException">A term without an operator, or a bad escape.</exception>
    public static FieldSelectorExpression Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Everything;
        }

        var requirements = new List<FieldRequirement>();
        foreach (var term in SplitTerms(text))
        {
            if (term.Length == 0)
            {
                continue;
            }

            if (TrySplit(term, "!=", out var left, out var right))
            {
                requirements.Add(new FieldRequirement(Unescape(left, text), true, Unescape(right, text)));
            }
            else if (TrySplit(term, "==", out left, out right) || TrySplit(term, "=", out left, out right))
            {
                requirements.Add(new FieldRequirement(Unescape(left, text), false, Unescape(right, text)));
            }
            else
            {
                throw new FormatException($"invalid selector: '{text}'; can't understand '{term}'");
            }
        }

        return new FieldSelectorExpression(requirements);
    }

    public static bool TryParse(string? text, out FieldSelectorExpression selector, out string? error)
    {
        try
        {
            selector = Parse(text);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            selector = Everything;
            error = e.Message;
            return false;
        }
    }

    /// <summary>Whether every term holds; <paramref name="fieldValue"/> returns a field's value (null as empty).</summary>
    public bool Matches(Func<string, string?> fieldValue)
    {
        foreach (var requirement in Requirements)
        {
            if (!requirement.Matches(fieldValue))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => string.Join(',', Requirements.Select(r => r.ToString()));

    private static List<string> SplitTerms(string text)
    {
        var terms = new List<string>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == ',')
            {
                terms.Add(text[start..i]);
                start = i + 1;
            }
        }

        terms.Add(text[start..]);
        return terms;
    }

    /// <summary>Splits at the first unescaped <paramref name="op"/>.</summary>
    private static bool TrySplit(string term, string op, out string left, out string right)
    {
        for (var i = 0; i < term.Length; i++)
        {
            if (term[i] == '\\')
            {
                i++;
                continue;
            }

            if (string.CompareOrdinal(term, i, op, 0, op.Length) == 0)
            {
                left = term[..i];
                right = term[(i + op.Length)..];
                return true;
            }
        }

        left = right = "";
        return false;
    }

    private static string Unescape(string s, string whole)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }

        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\')
            {
                if (i + 1 >= s.Length || s[i + 1] is not ('\\' or ',' or '='))
                {
                    throw new FormatException($"invalid selector: '{whole}'; invalid escape sequence in '{s}'");
                }

                i++;
            }

            sb.Append(s[i]);
        }

        return sb.ToString();
    }
}
