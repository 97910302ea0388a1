using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verge.Core.Serialization;

/// <summary>
/// metav1.Time: written as RFC 3339 in UTC with whole seconds (<c>2026-01-02T03:04:05Z</c>); read from any RFC 3339
/// timestamp. Registered for every <see cref="DateTimeOffset"/> in the Verge JSON options.
/// </summary>
public sealed class TimeJsonConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        RfcTime.Read(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(RfcTime.FormatSeconds(value));
}

/// <summary>
/// metav1.MicroTime: written as RFC 3339 in UTC with six fractional digits (<c>2026-01-02T03:04:05.123456Z</c>), as
/// Lease <c>renewTime</c> and Event <c>eventTime</c> are; read from any RFC 3339 timestamp.
/// </summary>
public sealed class MicroTimeJsonConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        RfcTime.Read(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(RfcTime.FormatMicros(value));
}

/// <summary>RFC 3339 formatting and parsing shared by the time converters.</summary>
public static class RfcTime
{
    private static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFFFK",
    ];

    /// <summary>Seconds precision, UTC, as metav1.Time.</summary>
    public static string FormatSeconds(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Microsecond precision, UTC, as metav1.MicroTime.</summary>
    public static string FormatMicros(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses any RFC 3339 timestamp (fractions of up to nine digits; nanoseconds are truncated).</summary>
    public static bool TryParse(string text, out DateTimeOffset value)
    {
        var s = text.Trim();
        // .NET keeps at most seven fractional digits: drop any beyond that before parsing.
        var dot = s.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < s.Length && char.IsAsciiDigit(s[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                s = string.Concat(s.AsSpan(0, dot + 8), s.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParseExact(
            s, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out value)
            || DateTimeOffset.TryParseExact(
                s.Replace('t', 'T').Replace('z', 'Z'), Formats, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out value);
    }

    internal static DateTimeOffset Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("a timestamp must be an RFC 3339 string");
        }

        var text = reader.GetString()!;
        return TryParse(text, out var value)
            ? value
            : throw new JsonException($"parsing time \"{text}\" as RFC 3339 failed");
    }
}
