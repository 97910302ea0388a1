using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using Verge.Core.Coordination;
using Verge.Core.Serialization;

namespace Verge.Core.Tests.Serialization;

public sealed class TimeConvertersTests
{
    private static readonly Gen<DateTimeOffset> Times =
        Gen.Long[DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks].Select(ticks => new DateTimeOffset(ticks, TimeSpan.Zero));

    [Fact]
    public void FormatUtf8_WritesWhatTheStringFormatsWrite()
    {
        Times.Sample(time =>
        {
            Span<byte> text = stackalloc byte[RfcTime.MaxUtf8Length];
            Assert.Equal(RfcTime.FormatSeconds(time), Encoding.UTF8.GetString(text[..RfcTime.FormatUtf8(time, text, micros: false)]));
            Assert.Equal(RfcTime.FormatMicros(time), Encoding.UTF8.GetString(text[..RfcTime.FormatUtf8(time, text, micros: true)]));
        });
    }

    [Fact]
    public void TryParseUtf8_AgreesWithTryParse_ForEveryFractionLength()
    {
        Gen.Select(Times, Gen.Int[0, 7]).Sample((time, digits) =>
        {
            var format = digits == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss." + new string('f', digits) + "'Z'";
            var text = time.UtcDateTime.ToString(format, CultureInfo.InvariantCulture);

            Assert.True(RfcTime.TryParseUtf8(Encoding.UTF8.GetBytes(text), out var fast));
            Assert.True(RfcTime.TryParse(text, out var slow));
            Assert.Equal(slow, fast);
            Assert.Equal(slow.Offset, fast.Offset);
        });
    }

    [Theory]
    [InlineData("2026-01-02T03:04:05+02:00")]
    [InlineData("2026-01-02t03:04:05z")]
    [InlineData("2026-01-02T03:04:05.123456789Z")]
    [InlineData("2026-01-02T03:04:05.Z")]
    [InlineData("2026-02-30T03:04:05Z")]
    [InlineData("2026-01-02T24:04:05Z")]
    [InlineData("2026-01-02 03:04:05Z")]
    [InlineData("0000-01-02T03:04:05Z")]
    [InlineData("2026-1-02T03:04:05Z")]
    public void TryParseUtf8_WhenTheTextIsNotACanonicalForm_LeavesItToTheTextParser(string text) =>
        Assert.False(RfcTime.TryParseUtf8(Encoding.UTF8.GetBytes(text), out _));

    [Theory]
    [InlineData("\"2026-01-02T03:04:05+02:00\"", "2026-01-02T01:04:05Z")]
    [InlineData("\"2026-01-02t03:04:05z\"", "2026-01-02T03:04:05Z")]
    [InlineData("\"2026-01-02T03:04:05.123456789Z\"", "2026-01-02T03:04:05.1234567Z")]
    [InlineData("\"2026-01-02T03:04:05\\u002E5Z\"", "2026-01-02T03:04:05.5Z")]
    public void Read_WhenTheTextIsAnotherRfc3339Form_StillParsesIt(string json, string expected)
    {
        var lease = JsonSerializer.Deserialize<LeaseSpec>("{\"renewTime\":" + json + "}", VergeJson.Options)!;

        Assert.Equal(DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture), lease.RenewTime);
    }

    [Fact]
    public void Read_WhenTheDateDoesNotExist_FailsAsBefore() =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<LeaseSpec>("{\"renewTime\":\"2026-02-30T03:04:05Z\"}", VergeJson.Options));
}
