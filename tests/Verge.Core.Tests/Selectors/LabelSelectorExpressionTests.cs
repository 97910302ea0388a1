using Verge.Core.Selectors;

namespace Verge.Core.Tests.Selectors;

public sealed class LabelSelectorExpressionTests
{
    private static readonly Dictionary<string, string> Labels = new() { ["a"] = "b", ["c"] = "x", ["e"] = "y", ["g"] = "1" };

    [Theory]
    [InlineData("a=b,c!=d,e in (x,y),f notin (z),g,!h", true)]
    [InlineData("a==b", true)]
    [InlineData("a=c", false)]
    [InlineData("c!=x", false)]
    [InlineData("e in (z)", false)]
    [InlineData("e notin (y)", false)]
    [InlineData("missing notin (y)", true)]
    [InlineData("missing!=y", true)]
    [InlineData("h", false)]
    [InlineData("!a", false)]
    [InlineData("g>0", true)]
    [InlineData("g<1", false)]
    [InlineData("", true)]
    [InlineData("  a = b , e in ( x , y ) ", true)]
    [InlineData("x.example.com/tier=", false)]
    public void Matches_FollowsKubernetesSemantics(string selector, bool expected)
    {
        Assert.Equal(expected, LabelSelectorExpression.Parse(selector).Matches(Labels));
    }

    [Fact]
    public void Matches_WhenLabelsAreNull_TreatsThemAsEmpty()
    {
        Assert.True(LabelSelectorExpression.Parse("!a,b notin (c)").Matches((IReadOnlyDictionary<string, string>?)null));
        Assert.False(LabelSelectorExpression.Parse("a").Matches((IReadOnlyDictionary<string, string>?)null));
    }

    [Theory]
    [InlineData("a=b,", "unable to parse requirement: found 'end of string', expected: identifier after ','")]
    [InlineData("a b", "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', 'notin', '>' or '<'")]
    [InlineData("a in x", "unable to parse requirement: found 'x', expected: '('")]
    [InlineData("a in (x", "unable to parse requirement: found 'end of string', expected: ',' or ')'")]
    [InlineData("=b", "unable to parse requirement: found '=', expected: !, identifier, or 'end of string'")]
    [InlineData("a=(b)", "unable to parse requirement: found '(', expected: identifier")]
    [InlineData("a=b c", "unable to parse requirement: found 'c', expected: ',' or 'end of string'")]
    public void Parse_WhenSyntaxIsWrong_SaysWhatWasExpected(string selector, string message)
    {
        var error = Assert.Throws<FormatException>(() => LabelSelectorExpression.Parse(selector));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Parse_WhenKeyIsInvalid_ReportsTheKeyRule()
    {
        var error = Assert.Throws<FormatException>(() => LabelSelectorExpression.Parse("-bad=x"));
        Assert.StartsWith("unable to parse requirement: key: Invalid value: \"-bad\": name part must consist of alphanumeric characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenValueIsInvalid_ReportsTheValueRule()
    {
        var error = Assert.Throws<FormatException>(() => LabelSelectorExpression.Parse("a=b@c"));
        Assert.Contains("a valid label must be an empty string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_SortsByKeyAndValues()
    {
        Assert.Equal("a=b,b in (x,y),!c,d", LabelSelectorExpression.Parse("d,!c,b in (y,x),a=b").ToString());
    }

    [Fact]
    public void LabelSelector_ToMatcher_CombinesLabelsAndExpressions()
    {
        var selector = new LabelSelector
        {
            MatchLabels = new() { ["app"] = "web" },
            MatchExpressions =
            [
                new() { Key = "tier", Operator = "In", Values = ["front", "edge"] },
                new() { Key = "canary", Operator = "DoesNotExist" },
            ],
        };
        var matcher = selector.ToMatcher();
        Assert.True(matcher.Matches(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "edge" }));
        Assert.False(matcher.Matches(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "edge", ["canary"] = "1" }));
        Assert.False(matcher.Matches(new Dictionary<string, string> { ["app"] = "web" }));
        Assert.Equal("app=web,!canary,tier in (edge,front)", selector.ToString());
    }

    [Fact]
    public void LabelSelector_WhenEmpty_MatchesEverything_AndWhenNull_MatchesNothing()
    {
        Assert.True(new LabelSelector().ToMatcher().Matches(new Dictionary<string, string> { ["x"] = "y" }));
        Assert.False(LabelSelectorExpression.FromLabelSelector(null).Matches(new Dictionary<string, string>()));
    }

    [Fact]
    public void LabelSelector_WhenOperatorIsUnknown_Throws()
    {
        var selector = new LabelSelector { MatchExpressions = [new() { Key = "a", Operator = "Near", Values = ["x"] }] };
        Assert.Throws<FormatException>(() => selector.ToMatcher());
    }

    [Fact]
    public void ParseOfToString_MatchesTheSameLabels()
    {
        var original = LabelSelectorExpression.Parse("a=b,c!=d,e in (x,y),f notin (z),g,!h");
        var reparsed = LabelSelectorExpression.Parse(original.ToString());
        Assert.Equal(original.ToString(), reparsed.ToString());
        Assert.Equal(original.Matches(Labels), reparsed.Matches(Labels));
    }

    [Fact]
    public void WithLabels_AndsEachPairIntoTheSelector_AndANothingSelectorStaysNothing()
    {
        var selector = LabelSelectorExpression.FromLabelSelector(new LabelSelector { MatchLabels = new() { ["app"] = "web" } });
        Dictionary<string, string> hash = new() { ["pod-template-hash"] = "abc" };

        var merged = selector.WithLabels(hash);
        var fromNothing = LabelSelectorExpression.Nothing.WithLabels(hash);

        Assert.Equal("app=web,pod-template-hash=abc", merged.ToString());
        Assert.True(merged.Matches(new Dictionary<string, string> { ["app"] = "web", ["pod-template-hash"] = "abc" }));
        Assert.False(merged.Matches(new Dictionary<string, string> { ["app"] = "web", ["pod-template-hash"] = "old" }));
        Assert.False(merged.Matches(new Dictionary<string, string> { ["pod-template-hash"] = "abc" }));
        Assert.True(fromNothing.MatchesNothing);
        Assert.False(fromNothing.Matches(new Dictionary<string, string> { ["pod-template-hash"] = "abc" }));
    }
}
