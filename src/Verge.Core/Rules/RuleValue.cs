using System.Globalization;
using System.Text.Json;

namespace Verge.Core.Rules;

internal enum RuleValueKind : byte
{
    /// <summary>A referenced field the payload lacks; behaves as null.</summary>
    Missing,
    Null,
    Bool,
    Number,
    String,

    /// <summary>A JSON object or array, kept as its raw UTF-8 text.</summary>
    Json,
}

/// <summary>
/// A value during evaluation. Strings are memory over an existing string (a topic level needs no copy); objects and
/// arrays keep their raw JSON. Booleans live in <see cref="Number"/> (1 or 0).
/// </summary>
internal readonly struct RuleValue : IEquatable<RuleValue>
{
    public static readonly RuleValue Null = new(RuleValueKind.Null, 0, default, null);
    public static readonly RuleValue True = new(RuleValueKind.Bool, 1, default, null);
    public static readonly RuleValue False = new(RuleValueKind.Bool, 0, default, null);

    private RuleValue(RuleValueKind kind, double number, ReadOnlyMemory<char> text, byte[]? json)
    {
        Kind = kind;
        Number = number;
        Text = text;
        Json = json;
    }

    public RuleValueKind Kind { get; }

    public double Number { get; }

    public ReadOnlyMemory<char> Text { get; }

    public byte[]? Json { get; }

    public bool IsNull => Kind <= RuleValueKind.Null;

    public bool IsTrue => Kind == RuleValueKind.Bool && Number != 0;

    public static RuleValue FromNumber(double number) => new(RuleValueKind.Number, number, default, null);

    public static RuleValue FromBool(bool value) => value ? True : False;

    public static RuleValue FromText(ReadOnlyMemory<char> text) => new(RuleValueKind.String, 0, text, null);

    public static RuleValue FromString(string text) => new(RuleValueKind.String, 0, text.AsMemory(), null);

    public static RuleValue FromJson(byte[] json) => new(RuleValueKind.Json, 0, default, json);

    /// <summary>The value as a group key: missing becomes null.</summary>
    public RuleValue AsKey() => Kind == RuleValueKind.Missing ? Null : this;

    public string TypeName => Kind switch
    {
        RuleValueKind.Bool => "boolean",
        RuleValueKind.Number => "number",
        RuleValueKind.String => "string",
        RuleValueKind.Json => "object or array",
        _ => "null",
    };

    public bool Equals(RuleValue other)
    {
        if (IsNull || other.IsNull)
        {
            return IsNull && other.IsNull;
        }

        return Kind == other.Kind && Kind switch
        {
            RuleValueKind.String => Text.Span.SequenceEqual(other.Text.Span),
            RuleValueKind.Json => Json.AsSpan().SequenceEqual(other.Json),
            _ => Number.Equals(other.Number),
        };
    }

    public override bool Equals(object? obj) => obj is RuleValue other && Equals(other);

    public override int GetHashCode() => Kind switch
    {
        RuleValueKind.Missing or RuleValueKind.Null => 0,
        RuleValueKind.String => string.GetHashCode(Text.Span),
        RuleValueKind.Json => Json!.Length,
        _ => HashCode.Combine(Kind, Number),
    };

    public static bool operator ==(RuleValue left, RuleValue right) => left.Equals(right);

    public static bool operator !=(RuleValue left, RuleValue right) => !left.Equals(right);

    /// <summary>The text concat() uses: numbers in invariant round-trip form, booleans as true/false, null as empty.</summary>
    public string ToText() => Kind switch
    {
        RuleValueKind.String => Text.ToString(),
        RuleValueKind.Number => Number.ToString("R", CultureInfo.InvariantCulture),
        RuleValueKind.Bool => Number != 0 ? "true" : "false",
        RuleValueKind.Json => System.Text.Encoding.UTF8.GetString(Json!),
        _ => "",
    };

    public void WriteTo(Utf8JsonWriter writer)
    {
        switch (Kind)
        {
            case RuleValueKind.Number:
                writer.WriteNumberValue(Number);
                break;
            case RuleValueKind.String:
                writer.WriteStringValue(Text.Span);
                break;
            case RuleValueKind.Bool:
                writer.WriteBooleanValue(Number != 0);
                break;
            case RuleValueKind.Json:
                writer.WriteRawValue(Json!, skipInputValidation: true);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    public override string ToString() => Kind == RuleValueKind.Missing ? "missing" : IsNull ? "null" : ToText();
}

/// <summary>A failure while evaluating one message, such as 'abc' + 1 or a division by zero: counted, never thrown out.</summary>
internal sealed class RuleEvaluationException : Exception
{
    public RuleEvaluationException(string message)
        : base(message)
    {
    }

    public RuleEvaluationException()
    {
    }

    public RuleEvaluationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
