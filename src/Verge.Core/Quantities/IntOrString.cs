using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verge.Core.Quantities;

/// <summary>
/// intstr.IntOrString: a JSON integer or string, such as a port (<c>8080</c> or <c>http</c>) or a rollout bound
/// (<c>1</c> or <c>25%</c>).
/// </summary>
[JsonConverter(typeof(IntOrStringJsonConverter))]
[Description("IntOrString is a type that can hold an int32 or a string.")]
public readonly struct IntOrString : IEquatable<IntOrString>
{
    private readonly string? _stringValue;

    public IntOrString(int value)
    {
        IntValue = value;
        _stringValue = null;
    }

    public IntOrString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        IntValue = 0;
        _stringValue = value;
    }

    public bool IsString => _stringValue is not null;

    public int IntValue { get; }

    /// <summary>The string, or the integer printed when this holds an integer.</summary>
    public string StringValue => _stringValue ?? IntValue.ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether this is a string ending in <c>%</c> whose number is a whole non-negative integer.</summary>
    public bool IsPercent => _stringValue is not null && TryPercent(out _);

    public static implicit operator IntOrString(int value) => new(value);

    public static implicit operator IntOrString(string value) => new(value);

    public static IntOrString FromInt32(int value) => new(value);

    public static IntOrString FromString(string value) => new(value);

    /// <summary>
    /// The value scaled against <paramref name="total"/> as Kubernetes' GetScaledValueFromIntOrPercent does: an
    /// integer as is, <c>25%</c> of 10 as 3 when rounding up or 2 when rounding down.
    /// </summary>
    /// <exception cref="FormatException">A string that is not a percentage.</exception>
    public int GetScaledValue(int total, bool roundUp)
    {
        if (_stringValue is null)
        {
            return IntValue;
        }

        if (!TryPercent(out var percent))
        {
            throw new FormatException($"invalid value for IntOrString: invalid type: string is not a percentage: \"{_stringValue}\"");
        }

        var scaled = (long)percent * total;
        return (int)(roundUp ? (scaled + 99) / 100 : scaled / 100);
    }

    private bool TryPercent(out int percent)
    {
        percent = 0;
        var s = _stringValue!;
        return s.EndsWith('%') && int.TryParse(s.AsSpan(0, s.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out percent);
    }

    public bool Equals(IntOrString other) =>
        IsString == other.IsString && (IsString ? string.Equals(_stringValue, other._stringValue, StringComparison.Ordinal) : IntValue == other.IntValue);

    public override bool Equals(object? obj) => obj is IntOrString other && Equals(other);

    public override int GetHashCode() => IsString ? StringComparer.Ordinal.GetHashCode(_stringValue!) : IntValue;

    public static bool operator ==(IntOrString left, IntOrString right) => left.Equals(right);

    public static bool operator !=(IntOrString left, IntOrString right) => !left.Equals(right);

    public override string ToString() => StringValue;
}

/// <summary>Reads a JSON integer or string into an <see cref="IntOrString"/> and writes it back in the same kind.</summary>
public sealed class IntOrStringJsonConverter : JsonConverter<IntOrString>
{
    public override IntOrString Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => new IntOrString(reader.GetString()!),
            JsonTokenType.Number when reader.TryGetInt32(out var value) => new IntOrString(value),
            _ => throw new JsonException("an IntOrString must be an int32 or a string"),
        };

    public override void Write(Utf8JsonWriter writer, IntOrString value, JsonSerializerOptions options)
    {
        if (value.IsString)
        {
            writer.WriteStringValue(value.StringValue);
        }
        else
        {
            writer.WriteNumberValue(value.IntValue);
        }
    }
}
