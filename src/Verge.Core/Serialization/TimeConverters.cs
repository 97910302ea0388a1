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

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> text = stackalloc byte[RfcTime.MaxUtf8Length];
        writer.WriteStringValue(text[..RfcTime.FormatUtf8(value, text, micros: false)]);
    }
}

/// <summary>
/// metav1.MicroTime: written as RFC 3339 in UTC with six fractional digits (<c>2026-01-02T03:04:05.123456Z</c>), as
/// Lease <c>renewTime</c> and Event <c>eventTime</c> are; read from any RFC 3339 timestamp.
/// </summary>
public sealed class MicroTimeJsonConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        RfcTime.Read(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> text = stackalloc byte[RfcTime.MaxUtf8Length];
        writer.WriteStringValue(text[..RfcTime.FormatUtf8(value, text, micros: true)]);
    }
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

    /// <summary>The longest text <see cref="FormatUtf8"/> writes: <c>2026-01-02T03:04:05.123456Z</c>.</summary>
    internal const int MaxUtf8Length = 27;

    /// <summary>
    /// Writes <see cref="FormatSeconds"/> or, with <paramref name="micros"/>, <see cref="FormatMicros"/> of
    /// <paramref name="value"/> as UTF-8 into <paramref name="destination"/> (at least <see cref="MaxUtf8Length"/>
    /// bytes) and returns its length: the same text, without a string or a format pattern to interpret (every
    /// object's timestamps are written this way on every encode).
    /// </summary>
    internal static int FormatUtf8(DateTimeOffset value, Span<byte> destination, bool micros)
    {
        var utc = value.UtcDateTime;
        Digits(destination[..4], utc.Year);
        destination[4] = (byte)'-';
        Digits(destination.Slice(5, 2), utc.Month);
        destination[7] = (byte)'-';
        Digits(destination.Slice(8, 2), utc.Day);
        destination[10] = (byte)'T';
        Digits(destination.Slice(11, 2), utc.Hour);
        destination[13] = (byte)':';
        Digits(destination.Slice(14, 2), utc.Minute);
        destination[16] = (byte)':';
        Digits(destination.Slice(17, 2), utc.Second);
        if (!micros)
        {
            destination[19] = (byte)'Z';
            return 20;
        }

        destination[19] = (byte)'.';
        Digits(destination.Slice(20, 6), (int)(utc.Ticks % TimeSpan.TicksPerSecond / 10));
        destination[26] = (byte)'Z';
        return 27;
    }

    private static void Digits(Span<byte> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }

    /// <summary>
    /// Parses the forms Verge and Kubernetes write, <c>yyyy-MM-ddTHH:mm:ssZ</c> with no fraction or one of one to seven
    /// digits, straight from UTF-8 (every decode of an object reads its timestamps): what <see cref="TryParse"/> gives
    /// for them. False for anything else, which the caller then parses as text.
    /// </summary>
    internal static bool TryParseUtf8(ReadOnlySpan<byte> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length < 20 || text.Length == 21 || text.Length > 28 || text[^1] != (byte)'Z'
            || text[4] != (byte)'-' || text[7] != (byte)'-' || text[10] != (byte)'T' || text[13] != (byte)':' || text[16] != (byte)':'
            || !TryDigits(text[..4], out var year) || !TryDigits(text.Slice(5, 2), out var month) || !TryDigits(text.Slice(8, 2), out var day)
            || !TryDigits(text.Slice(11, 2), out var hour) || !TryDigits(text.Slice(14, 2), out var minute) || !TryDigits(text.Slice(17, 2), out var second))
        {
            return false;
        }

        long fraction = 0;
        if (text.Length > 20)
        {
            var digits = text[20..^1];
            if (text[19] != (byte)'.' || !TryDigits(digits, out var f))
            {
                return false;
            }

            fraction = f;
            for (var i = digits.Length; i < 7; i++)
            {
                fraction *= 10;
            }
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        value = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks + fraction, TimeSpan.Zero);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (c is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    internal static DateTimeOffset Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("a timestamp must be an RFC 3339 string");
        }

        if (!reader.HasValueSequence && !reader.ValueIsEscaped && TryParseUtf8(reader.ValueSpan, out var parsed))
        {
            return parsed;
        }

        var text = reader.GetString()!;
        return TryParse(text, out var value)
            ? value
            : throw new JsonException($"parsing time \"{text}\" as RFC 3339 failed");
    }
}
