using CsCheck;
using Verge.Core.Rules;

namespace Verge.Core.Tests.Rules;

public sealed class RuleStatementTests
{
    public const string IssueText =
        "SELECT deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp FROM 'devices/+/telemetry' WHERE temp > -40\n  GROUP BY deviceId, TUMBLING(10s)";

    // As the YAML folded scalar (statement: >) delivers it: lines joined by a space, a trailing newline.
    public const string IssueYaml =
        "SELECT topic(2) AS deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp, count(*) AS n FROM 'devices/+/telemetry' WHERE temp > -40 GROUP BY topic(2), TUMBLING(10s)\n";

    [Fact]
    public void Parse_IssueTextStatement_GivesProjectionsFilterWhereKeysAndWindow()
    {
        var statement = RuleStatement.Parse(IssueText);

        Assert.Equal(["deviceId", "avgTemp", "maxTemp"], statement.Projections.Select(p => p.Name));
        Assert.Equal("devices/+/telemetry", statement.From.Text);
        var where = Assert.IsType<BinaryExpression>(statement.Where);
        Assert.Equal(BinaryOperator.Greater, where.Operator);
        Assert.Equal(-40d, Assert.IsType<LiteralExpression>(where.Right).Value);
        Assert.Equal("deviceId", Assert.IsType<FieldExpression>(Assert.Single(statement.GroupBy)).LastName);
        Assert.Equal(new RuleWindow(statement.Window!.Position, RuleWindowKind.Tumbling, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)), statement.Window);
        Assert.True(statement.IsWindowed);
    }

    [Fact]
    public void Parse_IssueYamlStatement_GroupsByTopicLevel()
    {
        var statement = RuleStatement.Parse(IssueYaml);

        Assert.Equal(["deviceId", "avgTemp", "maxTemp", "n"], statement.Projections.Select(p => p.Name));
        var key = Assert.IsType<CallExpression>(Assert.Single(statement.GroupBy));
        Assert.Equal("topic(2)", key.Canonical);
        Assert.True(Assert.IsType<CallExpression>(statement.Projections[3].Expression).Star);
    }

    [Fact]
    public void Parse_RecordsSourcePositions()
    {
        var statement = RuleStatement.Parse("SELECT a.b AS x, c FROM 't' WHERE c >= 2");

        Assert.Equal(8, statement.Projections[0].Position);
        Assert.Equal(18, statement.Projections[1].Position);
        var where = Assert.IsType<BinaryExpression>(statement.Where);
        Assert.Equal(37, where.Position);
        Assert.Equal(35, where.Left.Position);
        Assert.Equal(40, where.Right.Position);
    }

    [Fact]
    public void Parse_FieldPathsIndexesQuotedNamesAndLiterals()
    {
        var statement = RuleStatement.Parse(
            "select a.b.c, a[0].b AS first, \"odd name\".\"x y\" AS odd, 'it''s' AS s, true AS t, false AS f, null AS z, 1.5e3 AS n from '#'");

        var paths = statement.Projections.Take(3).Select(p => Assert.IsType<FieldExpression>(p.Expression).Path).ToList();
        Assert.Equal([new("a", 0), new("b", 0), new("c", 0)], paths[0]);
        Assert.Equal([new("a", 0), new(null, 0), new("b", 0)], paths[1]);
        Assert.Equal([new("odd name", 0), new("x y", 0)], paths[2]);
        Assert.Equal("c", statement.Projections[0].Name);
        Assert.Equal(["it's", true, false, null, 1500d], statement.Projections.Skip(3).Select(p => Assert.IsType<LiteralExpression>(p.Expression).Value));
    }

    [Fact]
    public void Parse_OperatorPrecedence_FollowsSql()
    {
        var statement = RuleStatement.Parse("SELECT a FROM 't' WHERE NOT a + b * c % 2 - -d <> 3 OR e IS NOT NULL AND f != 1 OR g IS NULL");

        Assert.Equal(
            "(((NOT (((\"a\" + ((\"b\" * \"c\") % 2)) - (-\"d\")) != 3)) OR ((\"e\" IS NOT NULL) AND (\"f\" != 1))) OR (\"g\" IS NULL))",
            statement.Where!.Canonical);
    }

    [Fact]
    public void Parse_ExpressionProjectionWithoutAlias_IsNamedBySourceText()
    {
        var statement = RuleStatement.Parse("SELECT temp * 2, upper(name) FROM 't'");

        Assert.Equal(["temp * 2", "upper(name)"], statement.Projections.Select(p => p.Name));
    }

    [Fact]
    public void Parse_SlidingWindowAndWindowOnlyGroupBy()
    {
        var sliding = RuleStatement.Parse("SELECT avg(t) AS a FROM 's/#' GROUP BY SLIDING(1m, 10s)");
        Assert.Equal(new RuleWindow(40, RuleWindowKind.Sliding, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10)), sliding.Window);
        Assert.Empty(sliding.GroupBy);

        var description = RuleStatement.Parse("SELECT avg(temperature) FROM 'sensors/+/data' GROUP BY TUMBLING(60s)");
        Assert.Equal("avg(temperature)", Assert.Single(description.Projections).Name);
    }

    [Fact]
    public void Parse_EveryFunctionAndAggregate_IsKnown()
    {
        RuleStatement.Parse("SELECT topic(1) AS a, topic() AS b, clientid() AS c, timestamp() AS d, abs(x) AS e, round(x) AS f, round(x, 2) AS g, floor(x) AS h, ceil(x) AS i, lower(s) AS j, upper(s) AS k, concat(s, '-', x) AS l, coalesce(y, 0) AS m FROM 'a/b'");
        RuleStatement.Parse("SELECT count(*) AS a, count(x) AS b, sum(x) AS c, avg(x) AS d, min(x) AS e, max(x) AS f, first(s) AS g, last(s) AS h, max(x) - min(x) AS spread FROM 'a/b' GROUP BY TUMBLING(1s)");
    }

    [Theory]
    [InlineData("", 1, "statement is empty")]
    [InlineData("   ", 1, "statement is empty")]
    [InlineData("SELEC a FROM 't'", 1, "expected SELECT")]
    [InlineData("SELECT deviceId avg(temp) FROM 't'", 17, "expected FROM")]
    [InlineData("SELECT deviceId, avg(temp) AS avgTemp WHERE temp > 1", 39, "expected FROM")]
    [InlineData("SELECT a FROM t", 15, "expected a quoted topic filter such as 'devices/+/telemetry'")]
    [InlineData("SELECT a FROM 't' WHER a > 1", 19, "expected WHERE, GROUP BY or end of statement")]
    [InlineData("SELECT a FROM 't' WHERE a > 1 GROUP a", 37, "expected BY")]
    [InlineData("SELECT a FROM 't' WHERE a > 1 b", 31, "expected GROUP BY or end of statement")]
    [InlineData("SELECT avgg(temp) FROM 't'", 8, "unknown function 'avgg'")]
    [InlineData("SELECT avg(temp) FROM 't'", 8, "aggregate 'avg' needs GROUP BY with a window, such as GROUP BY TUMBLING(10s)")]
    [InlineData("SELECT a, avg(temp) AS x FROM 't' GROUP BY a", 44, "GROUP BY needs a window as its last item: TUMBLING(size) or SLIDING(size, hop)")]
    [InlineData("SELECT a FROM 't' GROUP BY TUMBLING(1s), a", 40, "the window must be the last item of GROUP BY")]
    [InlineData("SELECT b, avg(t) AS x FROM 't' GROUP BY a, TUMBLING(1s)", 8, "'b' must appear in GROUP BY or be used inside an aggregate")]
    [InlineData("SELECT topic(2) AS d, avg(t) AS x FROM 'a/+' GROUP BY TUMBLING(1s)", 8, "'topic(2)' must appear in GROUP BY or be used inside an aggregate")]
    [InlineData("SELECT *, avg(t) AS x FROM 't' GROUP BY TUMBLING(1s)", 8, "'*' cannot be used with GROUP BY; name the fields or aggregates")]
    [InlineData("SELECT a FROM 't' WHERE avg(a) > 1", 25, "aggregate 'avg' is not allowed in WHERE")]
    [InlineData("SELECT count(*) AS n FROM 't' GROUP BY max(a), TUMBLING(1s)", 40, "aggregate 'max' is not allowed in GROUP BY")]
    [InlineData("SELECT avg(max(a)) AS n FROM 't' GROUP BY TUMBLING(1s)", 12, "aggregate 'max' cannot be used inside aggregate 'avg'")]
    [InlineData("SELECT abs(a, b) FROM 't'", 8, "function 'abs' takes 1 argument, got 2")]
    [InlineData("SELECT round() FROM 't'", 8, "function 'round' takes 1 to 2 arguments, got 0")]
    [InlineData("SELECT concat() FROM 't'", 8, "function 'concat' takes at least 1 argument, got 0")]
    [InlineData("SELECT clientid(a) FROM 't'", 8, "function 'clientid' takes 0 arguments, got 1")]
    [InlineData("SELECT sum(*) FROM 't'", 12, "'*' is only allowed in count(*)")]
    [InlineData("SELECT topic(0) FROM 'a/b'", 14, "topic(n) takes a level number from 1, such as topic(2)")]
    [InlineData("SELECT topic(a) FROM 'a/b'", 14, "topic(n) takes a level number from 1, such as topic(2)")]
    [InlineData("SELECT topic(3) FROM 'a/+'", 14, "topic(3) is beyond the 2 levels of 'a/+'")]
    [InlineData("SELECT a FROM 'a/b+'", 19, "'+' must occupy a whole level of the topic filter")]
    [InlineData("SELECT a FROM 'a/#/b'", 18, "'#' must be the last level of the topic filter, alone")]
    [InlineData("SELECT a FROM ''", 16, "topic filter must not be empty")]
    [InlineData("SELECT a FROM 't' GROUP BY TUMBLING(10)", 37, "expected a duration such as 500ms, 10s, 1m or 1h")]
    [InlineData("SELECT a FROM 't' GROUP BY TUMBLING(10x)", 37, "invalid number or duration '10x' (duration units are ms, s, m and h)")]
    [InlineData("SELECT a FROM 't' GROUP BY TUMBLING(0s)", 37, "duration '0s' must be a whole number of milliseconds, at least 1ms")]
    [InlineData("SELECT a FROM 't' GROUP BY TUMBLING(25h)", 37, "duration '25h' is longer than 24h")]
    [InlineData("SELECT a FROM 't' GROUP BY TUMBLING 10s", 37, "expected '(' after TUMBLING")]
    [InlineData("SELECT a FROM 't' GROUP BY TUMBLING(10s", 40, "expected ')'")]
    [InlineData("SELECT a FROM 't' GROUP BY SLIDING(1m)", 38, "expected ',' and the hop of the SLIDING window, as in SLIDING(1m, 10s)")]
    [InlineData("SELECT count(*) AS n FROM 't' GROUP BY SLIDING(10s, 1m)", 40, "the hop of a SLIDING window must not be longer than its size")]
    [InlineData("SELECT count(*) AS n FROM 't' GROUP BY SLIDING(10s, 3s)", 40, "the size of a SLIDING window must be a whole multiple of its hop")]
    [InlineData("SELECT a FROM 't", 15, "unterminated string")]
    [InlineData("SELECT \"abc FROM 't'", 8, "unterminated quoted name")]
    [InlineData("SELECT \"\" FROM 't'", 8, "empty quoted name")]
    [InlineData("SELECT a ! b FROM 't'", 10, "unexpected character '!'")]
    [InlineData("SELECT a; FROM 't'", 9, "unexpected character ';'")]
    [InlineData("SELECT FROM 't'", 8, "expected an expression, found keyword FROM (quote a field with this name: \"FROM\")")]
    [InlineData("SELECT a, FROM 't'", 11, "expected an expression, found keyword FROM (quote a field with this name: \"FROM\")")]
    [InlineData("SELECT a FROM 't' WHERE", 24, "expected an expression, found end of statement")]
    [InlineData("SELECT a FROM 't' WHERE a >", 28, "expected an expression, found end of statement")]
    [InlineData("SELECT a FROM 't' WHERE (a > 1", 31, "expected ')'")]
    [InlineData("SELECT a FROM 't' WHERE a IS 1", 30, "expected NULL or NOT NULL after IS")]
    [InlineData("SELECT a FROM 't' WHERE a IS NOT 1", 34, "expected NULL after IS NOT")]
    [InlineData("SELECT a AS FROM 't'", 13, "expected a name after AS")]
    [InlineData("SELECT a.) FROM 't'", 10, "expected a field name after '.'")]
    [InlineData("SELECT a[x] FROM 't'", 10, "expected an array index (a whole number from 0)")]
    [InlineData("SELECT a[1.5] FROM 't'", 10, "expected an array index (a whole number from 0)")]
    [InlineData("SELECT a[1 FROM 't'", 12, "expected ']'")]
    [InlineData("SELECT abs(a b) FROM 't'", 14, "expected ',' or ')' in the arguments of abs()")]
    [InlineData("SELECT count(* FROM 't'", 16, "expected ')' after count(*")]
    [InlineData("SELECT a + 10s FROM 't'", 12, "a duration such as '10s' is only allowed in TUMBLING or SLIDING")]
    [InlineData("SELECT a, b AS a FROM 't'", 11, "duplicate output name 'a'; give it another name with AS")]
    [InlineData("SELECT 1e999 FROM 't'", 8, "number '1e999' is out of range")]
    [InlineData("SELECT a FROM 't' WHERE ,", 25, "expected an expression, found ','")]
    public void Parse_WhenInvalid_ThrowsWithColumnAndReason(string text, int column, string reason)
    {
        var error = Assert.Throws<RuleSyntaxException>(() => RuleStatement.Parse(text));

        Assert.Equal(reason, error.Reason);
        Assert.Equal(column, error.Position);
        Assert.Equal($"{reason} at column {column}", error.Message);
    }

    [Fact]
    public void Parse_WhenNestedTooDeeply_FailsCleanly()
    {
        var deep = "SELECT " + new string('(', 200) + "a" + new string(')', 200) + " FROM 't'";
        var error = Assert.Throws<RuleSyntaxException>(() => RuleStatement.Parse(deep));
        Assert.Equal("expression nested deeper than 64 levels", error.Reason);

        var negations = "SELECT a FROM 't' WHERE " + string.Concat(Enumerable.Repeat("NOT ", 500)) + "a";
        Assert.Equal("expression nested deeper than 64 levels", Assert.Throws<RuleSyntaxException>(() => RuleStatement.Parse(negations)).Reason);
    }

    [Fact]
    public void Parse_WhenTooLong_Fails()
    {
        var error = Assert.Throws<RuleSyntaxException>(() => RuleStatement.Parse("SELECT a FROM 't' WHERE a = '" + new string('x', RuleStatement.MaxLength) + "'"));
        Assert.Equal($"statement is longer than {RuleStatement.MaxLength} characters", error.Reason);
    }

    [Fact]
    public void Parse_KeywordsAreCaseInsensitiveAndQuotedKeywordIsAField()
    {
        var statement = RuleStatement.Parse("select \"from\" as f from 't' where \"from\" is not null group by \"from\", tumbling(500ms)");
        Assert.Equal(TimeSpan.FromMilliseconds(500), statement.Window!.Size);
        Assert.Equal("from", Assert.IsType<FieldExpression>(statement.GroupBy[0]).LastName);
    }

    [Fact]
    public void Parse_ArbitraryText_NeverThrowsAnythingButSyntaxErrors()
    {
        Gen.String[Gen.Char["SELECTFROMWHEREGROUPBYTUMBLING() ,.*'\"+-/%<>=!abc019s#[]"], 0, 60].Sample(text =>
        {
            try
            {
                RuleStatement.Parse("SELECT " + text);
            }
            catch (RuleSyntaxException e)
            {
                Assert.InRange(e.Position, 1, text.Length + 8);
            }
        });
    }
}
