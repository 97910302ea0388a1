using System.Text.Json;
using CsCheck;
using Verge.Core.Quantities;

namespace Verge.Core.Tests.Quantities;

public sealed class QuantityTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("0n", "0")]
    [InlineData("0Mi", "0")]
    [InlineData("-0", "0")]
    [InlineData("500m", "500m")]
    [InlineData("128Mi", "128Mi")]
    [InlineData("1", "1")]
    [InlineData("1.5", "1500m")]
    [InlineData("0.5Gi", "512Mi")]
    [InlineData("1.5Gi", "1536Mi")]
    [InlineData("100M", "100M")]
    [InlineData("1000M", "1G")]
    [InlineData("1000m", "1")]
    [InlineData("0.1", "100m")]
    [InlineData("0.1m", "100u")]
    [InlineData("1e3", "1e3")]
    [InlineData("1E3", "1e3")]
    [InlineData("1.5e3", "1500")]
    [InlineData("12e6", "12e6")]
    [InlineData("1024", "1024")]
    [InlineData("1024Ki", "1Mi")]
    [InlineData("1023Ki", "1023Ki")]
    [InlineData("0.5Ki", "512")]
    [InlineData("1.1Mi", "1153433600m")]
    [InlineData("1Ki", "1Ki")]
    [InlineData("-1Ki", "-1Ki")]
    [InlineData("+1", "1")]
    [InlineData("-500m", "-500m")]
    [InlineData("0.0000000001", "1n")]
    [InlineData("1.0000000001", "1000000001n")]
    [InlineData("1n", "1n")]
    [InlineData("1u", "1u")]
    [InlineData("1k", "1k")]
    [InlineData("20E", "20E")]
    [InlineData("7Ei", "7Ei")]
    [InlineData("8Ei", "9223372036854775807")]
    [InlineData("16Ei", "9223372036854775807")]
    [InlineData(".5", "500m")]
    [InlineData("1.", "1")]
    [InlineData("001", "1")]
    public void Parse_PrintsKubernetesCanonicalForm(string input, string canonical)
    {
        Assert.Equal(canonical, Quantity.Parse(input).ToString());
    }

    [Theory]
    [InlineData("12x", Quantity.FormatError)]
    [InlineData("", Quantity.FormatError)]
    [InlineData("1.2.3", Quantity.FormatError)]
    [InlineData("--1", Quantity.SuffixError)]
    [InlineData("1Kb", Quantity.FormatError)]
    [InlineData("1e", Quantity.SuffixError)]
    [InlineData("1Mm", Quantity.SuffixError)]
    [InlineData("1 Mi", Quantity.FormatError)]
    public void Parse_WhenTextIsInvalid_ThrowsWithKubernetesMessage(string input, string message)
    {
        var error = Assert.Throws<FormatException>(() => Quantity.Parse(input));
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("1", 1, 1000)]
    [InlineData("500m", 1, 500)]
    [InlineData("1.5", 2, 1500)]
    [InlineData("1n", 1, 1)]
    [InlineData("-1.5", -2, -1500)]
    [InlineData("128Mi", 134217728, 134217728000)]
    [InlineData("0.1m", 1, 1)]
    public void ValueAndMilliValue_RoundAwayFromZero(string input, long value, long milli)
    {
        var quantity = Quantity.Parse(input);
        Assert.Equal(value, quantity.Value());
        Assert.Equal(milli, quantity.MilliValue());
    }

    [Fact]
    public void Compare_IgnoresFormat()
    {
        Assert.Equal(Quantity.Parse("1Ki"), Quantity.Parse("1024"));
        Assert.True(Quantity.Parse("1Gi") > Quantity.Parse("1G"));
        Assert.True(Quantity.Parse("500m") < Quantity.Parse("1"));
        Assert.Equal(0, Quantity.Parse("1k").CompareTo(Quantity.Parse("1e3")));
    }

    [Fact]
    public void AddAndSubtract_AreExactAndKeepTheLeftFormat()
    {
        var sum = Quantity.Parse("100Mi") + Quantity.Parse("28Mi");
        Assert.Equal("128Mi", sum.ToString());
        Assert.Equal("1100m", (Quantity.Parse("1") + Quantity.Parse("100m")).ToString());
        Assert.Equal("-400m", (Quantity.Parse("100m") - Quantity.Parse("500m")).ToString());
        Assert.Equal("64Mi", (Quantity.Zero + Quantity.Parse("64Mi")).ToString());
    }

    [Fact]
    public void Json_ReadsStringsAndNumbers_WritesCanonicalStrings()
    {
        var map = JsonSerializer.Deserialize<Dictionary<string, Quantity>>("""{"cpu":"1.5","memory":1024,"n":0.5}""")!;
        Assert.Equal("1500m", map["cpu"].ToString());
        Assert.Equal("1024", map["memory"].ToString());
        Assert.Equal("500m", map["n"].ToString());
        Assert.Equal("""{"cpu":"1500m","memory":"1024","n":"500m"}""", JsonSerializer.Serialize(map));
    }

    [Fact]
    public void Json_WhenQuantityIsInvalid_KeepsRawTextInsteadOfThrowing()
    {
        var map = JsonSerializer.Deserialize<Dictionary<string, Quantity>>("""{"memory":"12x"}""")!;
        var quantity = map["memory"];
        Assert.False(quantity.IsValid);
        Assert.Equal("12x", quantity.RawText);
        Assert.Equal(Quantity.FormatError, quantity.Error);
        Assert.Equal("""{"memory":"12x"}""", JsonSerializer.Serialize(map));
    }

    private static readonly Gen<Quantity> GenQuantity =
        Gen.Select(
            Gen.Long[-1_000_000_000_000L, 1_000_000_000_000L],
            Gen.Int[0, 12],
            Gen.OneOfConst("", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e3", "e-2", "e7"))
        .Select((mantissa, decimals, suffix) =>
        {
            var digits = Math.Abs(mantissa).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(decimals + 1, '0');
            var text = (mantissa < 0 ? "-" : "") + digits[..^decimals] + (decimals > 0 ? "." + digits[^decimals..] : "") + suffix;
            return Quantity.Parse(text);
        });

    [Fact]
    public void ParseOfPrint_RoundTripsValueAndText()
    {
        GenQuantity.Sample(q =>
        {
            var printed = q.ToString();
            var reparsed = Quantity.Parse(printed);
            return reparsed == q && reparsed.ToString() == printed;
        });
    }

    [Fact]
    public void Add_ThenSubtract_ReturnsTheOriginalValue()
    {
        Gen.Select(GenQuantity, GenQuantity).Sample((a, b) => (a + b - b) == a && (a + b) == (b + a));
    }
}
