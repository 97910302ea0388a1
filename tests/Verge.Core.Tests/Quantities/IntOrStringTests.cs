using System.Text.Json;
using Verge.Core.Quantities;

namespace Verge.Core.Tests.Quantities;

public sealed class IntOrStringTests
{
    [Theory]
    [InlineData("25%", 10, true, 3)]
    [InlineData("25%", 10, false, 2)]
    [InlineData("100%", 7, true, 7)]
    [InlineData("0%", 7, true, 0)]
    [InlineData("50%", 3, false, 1)]
    public void GetScaledValue_ScalesPercentages(string value, int total, bool roundUp, int expected)
    {
        Assert.Equal(expected, new IntOrString(value).GetScaledValue(total, roundUp));
    }

    [Fact]
    public void GetScaledValue_ReturnsIntegersUnchanged()
    {
        Assert.Equal(5, new IntOrString(5).GetScaledValue(100, roundUp: true));
    }

    [Fact]
    public void GetScaledValue_WhenStringIsNotAPercentage_Throws()
    {
        var error = Assert.Throws<FormatException>(() => new IntOrString("http").GetScaledValue(10, roundUp: true));
        Assert.Contains("is not a percentage", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_KeepsTheKindOfValue()
    {
        var values = JsonSerializer.Deserialize<List<IntOrString>>("""[8080,"http","25%"]""")!;
        Assert.False(values[0].IsString);
        Assert.Equal(8080, values[0].IntValue);
        Assert.True(values[1].IsString);
        Assert.True(values[2].IsPercent);
        Assert.Equal("""[8080,"http","25%"]""", JsonSerializer.Serialize(values));
    }

    [Fact]
    public void Equality_DistinguishesIntFromString()
    {
        Assert.NotEqual(new IntOrString(1), new IntOrString("1"));
        Assert.Equal(new IntOrString("a"), new IntOrString("a"));
    }
}
