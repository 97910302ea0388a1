using Verge.Core.Selectors;

namespace Verge.Core.Tests.Selectors;

public sealed class FieldSelectorExpressionTests
{
    private static string? Fields(string name) => name switch
    {
        "metadata.name" => "x",
        "spec.nodeName" => "edge-1",
        _ => null,
    };

    [Theory]
    [InlineData("metadata.name=x", true)]
    [InlineData("metadata.name==x", true)]
    [InlineData("metadata.name!=x", false)]
    [InlineData("metadata.name=x,spec.nodeName!=y", true)]
    [InlineData("metadata.name=x,spec.nodeName=y", false)]
    [InlineData("spec.other=", true)]
    [InlineData("", true)]
    public void Matches_EvaluatesEveryTerm(string selector, bool expected)
    {
        Assert.Equal(expected, FieldSelectorExpression.Parse(selector).Matches(Fields));
    }

    [Fact]
    public void Fields_ListsTheFieldNamesUsed()
    {
        var selector = FieldSelectorExpression.Parse("metadata.name=x,spec.nodeName!=y,metadata.name!=z");
        Assert.Equal(["metadata.name", "spec.nodeName"], selector.Fields);
    }

    [Fact]
    public void Parse_HonoursEscapes()
    {
        var selector = FieldSelectorExpression.Parse(@"a=b\,c,d=e\=f");
        Assert.Equal("b,c", selector.Requirements[0].Value);
        Assert.Equal("e=f", selector.Requirements[1].Value);
    }

    [Fact]
    public void Parse_WhenTermHasNoOperator_Throws()
    {
        var error = Assert.Throws<FormatException>(() => FieldSelectorExpression.Parse("metadata.name=x,spec.nodeName"));
        Assert.Equal("invalid selector: 'metadata.name=x,spec.nodeName'; can't understand 'spec.nodeName'", error.Message);
    }
}
