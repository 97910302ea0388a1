using System.Text;
using Verge.Core.Rules;

namespace Verge.Core.Tests.Rules;

public sealed class RuleEngineTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    [Fact]
    public void Process_RunsEveryMatchingRuleAndNamesTheOutputs()
    {
        var engine = new RuleEngine();
        engine.AddOrUpdate("hot", "SELECT temp FROM 'devices/+/telemetry' WHERE temp > 30");
        engine.AddOrUpdate("all", "SELECT topic(2) AS d FROM 'devices/#'");
        engine.AddOrUpdate("other", "SELECT x FROM 'elsewhere'");

        var outputs = engine.Process("devices/d1/telemetry", Encoding.UTF8.GetBytes("""{"temp":35}"""), "c", T0);

        Assert.Equal(["hot: {\"temp\":35}", "all: {\"d\":\"d1\"}"], outputs.Select(o => o.ToString()));
        Assert.Equal(0, engine.Find("other")!.Counters.Matched);
    }

    [Fact]
    public void AddOrUpdate_ReplacesTheRuleAndResetsItsState()
    {
        var engine = new RuleEngine();
        engine.AddOrUpdate("n", "SELECT count(*) AS n FROM 't' GROUP BY TUMBLING(1s)");
        engine.Process("t", "{}"u8, "c", T0);
        engine.AddOrUpdate("n", "SELECT count(*) AS c FROM 't' GROUP BY TUMBLING(1s)");
        engine.Process("t", "{}"u8, "c", T0);

        var outputs = new List<RuleOutput>();
        engine.Advance(T0.AddSeconds(1), outputs);

        Assert.Equal(["n: {\"c\":1}"], outputs.Select(o => o.ToString()));
        Assert.True(engine.Remove("n"));
        Assert.False(engine.Remove("n"));
        Assert.Empty(engine.RuleNames);
    }

    [Fact]
    public void AddOrUpdate_WhenStatementInvalid_ThrowsAndKeepsTheOldRule()
    {
        var engine = new RuleEngine();
        engine.AddOrUpdate("r", "SELECT a FROM 't'");

        Assert.Throws<RuleSyntaxException>(() => engine.AddOrUpdate("r", "SELECT a FRM 't'"));
        Assert.Equal("SELECT a FROM 't'", engine.Find("r")!.Statement.Text);
    }
}
