using System.Text;
using CsCheck;

namespace Verge.Store.Tests;

public sealed class KeyOrderTests
{
    // Strings over a small alphabet that straddles the UTF-16 vs UTF-8 ordering differences.
    private static readonly Gen<string> Keys = Gen.OneOfConst("a", "b", "/", "\u007F", "\u00E9", "\uD7FF", "\uE000", "\uFFFD", "\uFFFF", "\U0001F600", "\U0010FFFF")
        .Array[0, 4]
        .Select(parts => string.Concat(parts));

    [Fact]
    public void Compare_AgreesWithUtf8ByteOrder()
    {
        Gen.Select(Keys, Keys).Sample((x, y) =>
            Math.Sign(KeyOrder.Compare(x, y)) ==
            Math.Sign(Encoding.UTF8.GetBytes(x).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y))));
    }

    [Fact]
    public void PrefixEnd_BoundsExactlyTheKeysWithThePrefix()
    {
        Gen.Select(Keys, Keys).Sample((key, prefix) =>
        {
            var end = KeyOrder.PrefixEnd(prefix);
            bool inRange = KeyOrder.Compare(key, prefix) >= 0 && (end is null || KeyOrder.Compare(key, end) < 0);
            return inRange == KeyOrder.HasPrefix(key, prefix);
        });
    }

    [Theory]
    [InlineData("/registry/pods/", "/registry/pods0")]
    [InlineData("a\uFFFF", "a\U00010000")]
    [InlineData("a\U0010FFFF", "b")]
    [InlineData("\U0010FFFF", null)]
    [InlineData("", null)]
    public void PrefixEnd_IncrementsTheLastCodePoint(string prefix, string? expected) =>
        Assert.Equal(expected, KeyOrder.PrefixEnd(prefix));
}
