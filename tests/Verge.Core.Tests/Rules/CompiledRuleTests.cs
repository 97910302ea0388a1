using System.Text;
using System.Text.Json;
using CsCheck;
using Verge.Core.Rules;

namespace Verge.Core.Tests.Rules;

public sealed class CompiledRuleTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static CompiledRule Compile(string statement) => CompiledRule.Compile("r", RuleStatement.Parse(statement));

    private static List<string> Run(CompiledRule rule, string topic, string payload, DateTimeOffset? at = null, string clientId = "c1")
    {
        var outputs = new List<RuleOutput>();
        rule.Process(topic, Encoding.UTF8.GetBytes(payload), clientId, at ?? T0, outputs);
        return outputs.Select(o => Encoding.UTF8.GetString(o.Payload)).ToList();
    }

    private static List<string> Advance(CompiledRule rule, DateTimeOffset now)
    {
        var outputs = new List<RuleOutput>();
        rule.Advance(now, outputs);
        return outputs.Select(o => Encoding.UTF8.GetString(o.Payload)).ToList();
    }

    [Fact]
    public void Process_StatelessProjection_WritesFieldsExpressionsAndContext()
    {
        var rule = Compile("SELECT a.b AS x, arr[1].v AS second, temp * 2 + 1 AS t2, topic(2) AS device, topic() AS full, clientid() AS cid, timestamp() AS ts, 'k' AS k, \"odd name\" FROM 'devices/+/telemetry'");

        var output = Assert.Single(Run(rule, "devices/d7/telemetry", """{"a":{"b":"hi"},"arr":[{"v":1},{"v":2}],"temp":20.5,"odd name":[1,{"z":null}]}"""));

        Assert.Equal($$"""{"x":"hi","second":2,"t2":42,"device":"d7","full":"devices/d7/telemetry","cid":"c1","ts":{{T0.ToUnixTimeMilliseconds()}},"k":"k","odd name":[1,{"z":null}]}""", output);
        Assert.Equal(1, rule.Counters.Matched);
        Assert.Equal(1, rule.Counters.Emitted);
    }

    [Fact]
    public void Process_Dup_ReadsTheSendersRedeliveryMark()
    {
        var rule = Compile("SELECT seq, dup() AS dup FROM 'devices/+/telemetry'");
        var outputs = new List<RuleOutput>();

        rule.Process("devices/d1/telemetry", """{"seq":1}"""u8, "c1", T0, outputs);
        rule.Process("devices/d1/telemetry", """{"seq":1}"""u8, "c1", T0, outputs, duplicate: true);

        Assert.Equal(["""{"seq":1,"dup":false}""", """{"seq":1,"dup":true}"""], outputs.Select(o => Encoding.UTF8.GetString(o.Payload)));
    }

    [Fact]
    public void Parse_DupInAGroupedProjection_MustBeGroupedOrAggregated()
    {
        var error = Assert.Throws<RuleSyntaxException>(() => RuleStatement.Parse("SELECT dup() AS d, count(*) AS n FROM 'a/b' GROUP BY TUMBLING(1s)"));

        Assert.Contains("'dup()' must appear in GROUP BY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_TopicNotMatching_IsNotCounted()
    {
        var rule = Compile("SELECT a FROM 'devices/+/telemetry'");

        Assert.Empty(Run(rule, "devices/d1/status", """{"a":1}"""));
        Assert.Equal(0, rule.Counters.Matched);
    }

    [Fact]
    public void Process_Star_CopiesThePayloadObjectAndAddsProjections()
    {
        var rule = Compile("SELECT *, topic(2) AS device FROM 'devices/+/t'");

        Assert.Equal(["""{"a":1,"b\u0022":{"c":[1,2]},"device":"d1"}"""], Run(rule, "devices/d1/t", """{"a":1,"b\"":{"c":[1,2]}}"""));
        Assert.Empty(Run(rule, "devices/d1/t", "[1,2]"));
        Assert.Equal(1, rule.Counters.Errors);
        Assert.Equal("'*' needs a JSON object payload", rule.Counters.LastError);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"temp\": 1")]
    [InlineData("{\"temp\": 1} {}")]
    [InlineData("")]
    [InlineData("\u00ff\u00fe")]
    public void Process_NonJsonPayload_IsCountedAndSkipped(string payload)
    {
        var rule = Compile("SELECT temp FROM 't'");

        Assert.Empty(Run(rule, "t", payload));
        Assert.Equal(1, rule.Counters.SkippedNonJson);
        Assert.Equal(0, rule.Counters.Emitted);
    }

    [Fact]
    public void Process_InvalidJsonInASkippedSubtree_IsStillNonJson()
    {
        var rule = Compile("SELECT temp FROM 't'");

        Assert.Empty(Run(rule, "t", """{"temp":1,"other":[1,}"""));
        Assert.Equal(1, rule.Counters.SkippedNonJson);
    }

    [Fact]
    public void Process_MissingField_IsCountedAndSkipped()
    {
        var rule = Compile("SELECT temp, hum FROM 't'");

        Assert.Empty(Run(rule, "t", """{"temp":1}"""));
        Assert.Equal(1, rule.Counters.SkippedMissingField);
        Assert.Equal(["""{"temp":1,"hum":null}"""], Run(rule, "t", """{"temp":1,"hum":null}"""));
    }

    [Fact]
    public void Process_FieldsUnderCoalesceOrIsNull_AreOptional()
    {
        var rule = Compile("SELECT coalesce(hum, -1) AS h, hum IS NULL AS missing FROM 't'");

        Assert.Equal(["""{"h":-1,"missing":true}"""], Run(rule, "t", """{"temp":1}"""));
        Assert.Equal(["""{"h":5,"missing":false}"""], Run(rule, "t", """{"hum":5}"""));
    }

    [Fact]
    public void Process_WhereWithNull_IsFalse()
    {
        var rule = Compile("SELECT temp FROM 't' WHERE temp > -40");

        Assert.Empty(Run(rule, "t", """{"temp":null}"""));
        Assert.Empty(Run(rule, "t", """{"temp":-50}"""));
        Assert.Single(Run(rule, "t", """{"temp":-39}"""));
        Assert.Equal(2, rule.Counters.Filtered);
        var negated = Compile("SELECT temp FROM 't' WHERE NOT (temp > -40)");
        Assert.Empty(Run(negated, "t", """{"temp":null}"""));
    }

    [Theory]
    [InlineData("1 + 2 * 3", "7")]
    [InlineData("(1 + 2) * 3", "9")]
    [InlineData("7 % 4", "3")]
    [InlineData("-x", "-2.5")]
    [InlineData("10 / 4", "2.5")]
    [InlineData("x = 2.5", "true")]
    [InlineData("s = 'abc'", "true")]
    [InlineData("s <> 'abc'", "false")]
    [InlineData("s < 'abd'", "true")]
    [InlineData("s = 1", "false")]
    [InlineData("s != 1", "true")]
    [InlineData("n + 1", "null")]
    [InlineData("n = n", "null")]
    [InlineData("true AND n", "null")]
    [InlineData("false AND n", "false")]
    [InlineData("true OR n", "true")]
    [InlineData("false OR n", "null")]
    [InlineData("NOT b", "false")]
    [InlineData("n IS NULL", "true")]
    [InlineData("x IS NOT NULL", "true")]
    [InlineData("abs(-3)", "3")]
    [InlineData("round(2.5)", "3")]
    [InlineData("round(-2.5)", "-3")]
    [InlineData("round(3.14159, 2)", "3.14")]
    [InlineData("floor(-1.5)", "-2")]
    [InlineData("ceil(1.2)", "2")]
    [InlineData("lower('AbC')", "\"abc\"")]
    [InlineData("upper(s)", "\"ABC\"")]
    [InlineData("concat(s, '-', x, '-', b, n)", "\"abc-2.5-true\"")]
    [InlineData("coalesce(n, s)", "\"abc\"")]
    [InlineData("abs(n)", "null")]
    [InlineData("o.k", "[1]")]
    [InlineData("o", "{\"k\":[1]}")]
    public void Process_Expressions_FollowSqlSemantics(string expression, string expected)
    {
        var rule = Compile($"SELECT {expression} AS v FROM 't'");

        Assert.Equal([$$"""{"v":{{expected}}}"""], Run(rule, "t", """{"x":2.5,"s":"abc","n":null,"b":true,"o":{"k":[1]}}"""));
    }

    [Theory]
    [InlineData("s + 1", "cannot apply '+' to string and number")]
    [InlineData("x / 0", "division by zero")]
    [InlineData("x % 0", "division by zero")]
    [InlineData("s < 1", "cannot compare string and number with '<'")]
    [InlineData("x AND true", "AND needs booleans, got number")]
    [InlineData("NOT x", "NOT needs a boolean, got number")]
    [InlineData("-s", "'-' needs a number, got string")]
    [InlineData("abs(s)", "abs() needs a number, got string")]
    [InlineData("upper(x)", "upper() needs a string, got number")]
    [InlineData("round(x, 1.5)", "the digits of round() must be a whole number from 0 to 15")]
    [InlineData("1e308 * 10", "'*' is not a finite number")]
    public void Process_EvaluationError_IsCountedNotThrown(string expression, string error)
    {
        var rule = Compile($"SELECT {expression} AS v FROM 't'");

        Assert.Empty(Run(rule, "t", """{"x":2.5,"s":"abc"}"""));
        Assert.Equal(1, rule.Counters.Errors);
        Assert.Equal(error, rule.Counters.LastError);
    }

    [Fact]
    public void Process_TopicLevelBeyondMultiLevelTopic_IsNull()
    {
        var rule = Compile("SELECT topic(4) AS l FROM 'a/#'");

        Assert.Equal(["""{"l":null}"""], Run(rule, "a/b", "{}"));
        Assert.Equal(["""{"l":"d"}"""], Run(rule, "a/b/c/d", "not even json: no field is read"));
    }

    [Fact]
    public void Process_EscapedPropertyNamesInPayload_Match()
    {
        var rule = Compile("SELECT \"a b\" AS v FROM 't'");

        Assert.Equal(["""{"v":1}"""], Run(rule, "t", """{"a\u0020b":1}"""));
    }

    [Fact]
    public void IssueTextStatement_EndToEnd_AveragesPerDeviceEveryTenSeconds()
    {
        var rule = Compile(RuleStatementTests.IssueText);
        var start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000); // a multiple of 10 s

        Assert.Empty(Run(rule, "devices/d1/telemetry", """{"deviceId":"d1","temp":20}""", start));
        Assert.Empty(Run(rule, "devices/d2/telemetry", """{"deviceId":"d2","temp":30}""", start.AddSeconds(1)));
        Assert.Empty(Run(rule, "devices/d1/telemetry", """{"deviceId":"d1","temp":22}""", start.AddSeconds(9)));
        Assert.Empty(Run(rule, "devices/d1/telemetry", """{"deviceId":"d1","temp":-45}""", start.AddSeconds(9)));
        Assert.Empty(Run(rule, "devices/d1/telemetry", """{"deviceId":"d1"}""", start.AddSeconds(9)));
        Assert.Empty(Advance(rule, start.AddSeconds(9.999)));

        Assert.Equal(
            ["""{"deviceId":"d1","avgTemp":21,"maxTemp":22}""", """{"deviceId":"d2","avgTemp":30,"maxTemp":30}"""],
            Advance(rule, start.AddSeconds(10)));
        Assert.Equal(1, rule.Counters.Filtered);
        Assert.Equal(1, rule.Counters.SkippedMissingField);
        Assert.Equal(2, rule.Counters.Emitted);
        Assert.Equal(0, rule.OpenGroups);
    }

    [Fact]
    public void IssueYamlStatement_EndToEnd_GroupsByTopicLevelAndCounts()
    {
        var rule = Compile(RuleStatementTests.IssueYaml);
        var start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        foreach (var (device, temp, second) in new[] { ("a", 10.0, 0), ("b", 1.5, 2), ("a", 20.0, 5), ("a", 30.0, 9) })
        {
            Run(rule, $"devices/{device}/telemetry", $$"""{"temp":{{temp}}}""", start.AddSeconds(second));
        }

        Run(rule, "devices/a/telemetry", "garbage", start.AddSeconds(9));

        // The next message, in the next window, closes the first one.
        Assert.Equal(
            ["""{"deviceId":"a","avgTemp":20,"maxTemp":30,"n":3}""", """{"deviceId":"b","avgTemp":1.5,"maxTemp":1.5,"n":1}"""],
            Run(rule, "devices/b/telemetry", """{"temp":5}""", start.AddSeconds(12)));
        Assert.Equal(["""{"deviceId":"b","avgTemp":5,"maxTemp":5,"n":1}"""], Advance(rule, start.AddSeconds(20)));
        Assert.Equal(1, rule.Counters.SkippedNonJson);
        Assert.Equal(6, rule.Counters.Matched);
    }

    [Fact]
    public void Tumbling_EmptyWindowsEmitNothingAndTimeJumpsDoNotLoop()
    {
        var rule = Compile("SELECT count(*) AS n FROM 't' GROUP BY TUMBLING(1s)");

        Run(rule, "t", "{}", T0);
        Assert.Equal(["""{"n":1}"""], Advance(rule, T0.AddYears(100)));
        Assert.Empty(Advance(rule, T0.AddYears(200)));
    }

    [Fact]
    public void Tumbling_LateMessage_CountsAtTheLatestTimeSeen()
    {
        var rule = Compile("SELECT count(*) AS n FROM 't' GROUP BY TUMBLING(10s)");

        Advance(rule, T0.AddSeconds(15));
        Run(rule, "t", "{}", T0.AddSeconds(1));
        Assert.Empty(Advance(rule, T0.AddSeconds(19)));
        Assert.Equal(["""{"n":1}"""], Advance(rule, T0.AddSeconds(20)));
    }

    [Fact]
    public void Sliding_EachWindowCoversSizeAndClosesEveryHop()
    {
        var rule = Compile("SELECT count(*) AS n, sum(v) AS s, first(v) AS f, last(v) AS l, min(v) AS lo, max(v) AS hi FROM 't' GROUP BY SLIDING(3s, 1s)");

        Run(rule, "t", """{"v":1}""", T0);
        // The message at 1 s closes the window [-2 s, 1 s) before it is counted.
        Assert.Equal(["""{"n":1,"s":1,"f":1,"l":1,"lo":1,"hi":1}"""], Run(rule, "t", """{"v":2}""", T0.AddSeconds(1)));
        Assert.Empty(Advance(rule, T0.AddSeconds(1)));
        Assert.Equal(["""{"n":2,"s":3,"f":1,"l":2,"lo":1,"hi":2}"""], Advance(rule, T0.AddSeconds(2)));
        Assert.Equal(["""{"n":2,"s":3,"f":1,"l":2,"lo":1,"hi":2}"""], Run(rule, "t", """{"v":-4}""", T0.AddSeconds(3.5)));
        Assert.Equal(
            ["""{"n":2,"s":-2,"f":2,"l":-4,"lo":-4,"hi":2}""", """{"n":1,"s":-4,"f":-4,"l":-4,"lo":-4,"hi":-4}""", """{"n":1,"s":-4,"f":-4,"l":-4,"lo":-4,"hi":-4}"""],
            Advance(rule, T0.AddSeconds(6)));
        Assert.Empty(Advance(rule, T0.AddSeconds(60)));
        Assert.Equal(0, rule.OpenGroups);
    }

    [Fact]
    public void Windowed_AggregatesIgnoreNullsAndCountStarCountsRows()
    {
        var rule = Compile("SELECT count(*) AS rows, count(v) AS vs, avg(v) AS a, sum(v) AS s, max(v) - min(v) AS spread, first(name) AS f FROM 't' GROUP BY TUMBLING(1s)");

        Run(rule, "t", """{"v":null,"name":null}""", T0);
        Run(rule, "t", """{"v":4,"name":"x"}""", T0);
        Run(rule, "t", """{"v":8,"name":"y"}""", T0);
        Assert.Equal(["""{"rows":3,"vs":2,"a":6,"s":12,"spread":4,"f":"x"}"""], Advance(rule, T0.AddSeconds(1)));

        Run(rule, "t", """{"v":null,"name":null}""", T0.AddSeconds(1));
        Assert.Equal(["""{"rows":1,"vs":0,"a":null,"s":null,"spread":null,"f":null}"""], Advance(rule, T0.AddSeconds(2)));
    }

    [Fact]
    public void Windowed_NonNumberInNumericAggregate_IsAnErrorAndLeavesTheGroupIntact()
    {
        var rule = Compile("SELECT count(*) AS n, avg(v) AS a FROM 't' GROUP BY TUMBLING(1s)");

        Run(rule, "t", """{"v":2}""", T0);
        Run(rule, "t", """{"v":"hot"}""", T0);
        Assert.Equal(["""{"n":1,"a":2}"""], Advance(rule, T0.AddSeconds(1)));
        Assert.Equal(1, rule.Counters.Errors);
        Assert.Equal("avg() needs numbers, got string", rule.Counters.LastError);
    }

    [Fact]
    public void Windowed_MultipleKeysAndKeyExpressionsInProjections()
    {
        var rule = Compile("SELECT site, upper(kind) AS k, count(*) AS n FROM 't' GROUP BY site, upper(kind), TUMBLING(1s)");

        Run(rule, "t", """{"site":"s1","kind":"a"}""", T0);
        Run(rule, "t", """{"site":"s1","kind":"A"}""", T0);
        Run(rule, "t", """{"site":"s2","kind":"a"}""", T0);
        Assert.Equal(["""{"site":"s1","k":"A","n":2}""", """{"site":"s2","k":"A","n":1}"""], Advance(rule, T0.AddSeconds(1)));
    }

    [Fact]
    public void Windowed_GroupLimit_CountsNewGroupsBeyondIt()
    {
        var rule = CompiledRule.Compile("r", RuleStatement.Parse("SELECT k, count(*) AS n FROM 't' GROUP BY k, TUMBLING(1s)"), new RuleLimits { MaxGroups = 2 });

        foreach (var k in new[] { "a", "b", "c", "a" })
        {
            Run(rule, "t", $$"""{"k":"{{k}}"}""", T0);
        }

        Assert.Equal(["""{"k":"a","n":2}""", """{"k":"b","n":1}"""], Advance(rule, T0.AddSeconds(1)));
        Assert.Equal(1, rule.Counters.Errors);
    }

    [Fact]
    public void Tumbling_AverageEqualsTheArithmeticMeanOfTheWindowsInputs()
    {
        Gen.Select(Gen.Double[-1000, 1000].Array[1, 50], Gen.Int[0, 9999].Array[1, 50]).Sample((values, offsets) =>
        {
            var rule = Compile("SELECT avg(v) AS a, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM 't' GROUP BY TUMBLING(10s)");
            var count = Math.Min(values.Length, offsets.Length);
            for (var i = 0; i < count; i++)
            {
                Run(rule, "t", JsonSerializer.Serialize(new { v = values[i] }), T0.AddMilliseconds(offsets[i]));
            }

            var output = JsonDocument.Parse(Assert.Single(Advance(rule, T0.AddSeconds(10)))).RootElement;
            var inputs = values.Take(count).ToArray();
            Assert.Equal(count, output.GetProperty("n").GetInt32());
            Assert.Equal(inputs.Average(), output.GetProperty("a").GetDouble(), 6);
            Assert.Equal(inputs.Sum(), output.GetProperty("s").GetDouble(), 6);
            Assert.Equal(inputs.Min(), output.GetProperty("lo").GetDouble());
            Assert.Equal(inputs.Max(), output.GetProperty("hi").GetDouble());
        });
    }

    [Fact]
    public void Sliding_EveryWindowEqualsTheInputsItCovers()
    {
        Gen.Int[0, 29_999].Array[0, 40].Sample(offsets =>
        {
            var rule = Compile("SELECT count(*) AS n, sum(v) AS s FROM 't' GROUP BY SLIDING(10s, 2s)");
            var sorted = offsets.Order().ToArray();
            var emitted = new List<(long End, double N, double S)>();
            for (var i = 0; i < sorted.Length; i++)
            {
                var at = T0.AddMilliseconds(sorted[i]);
                foreach (var o in Run(rule, "t", $$"""{"v":{{i}}}""", at))
                {
                    emitted.Add(Parse(o, at));
                }
            }

            var end = T0.AddSeconds(60);
            foreach (var o in Advance(rule, end))
            {
                emitted.Add(Parse(o, end));
            }

            // Every window [k*2s, k*2s+10s) that holds inputs is emitted once, in order, with exactly its inputs.
            var expected = Enumerable.Range(-4, 20)
                .Select(k => (Start: k * 2000L, Inputs: sorted.Select((t, i) => (t, i)).Where(x => x.t >= k * 2000L && x.t < (k * 2000L) + 10_000).ToList()))
                .Where(w => w.Inputs.Count > 0)
                .Select(w => ((double)w.Inputs.Count, (double)w.Inputs.Sum(x => x.i)))
                .ToList();
            Assert.Equal(expected, emitted.Select(e => (e.N, e.S)).ToList());
        });

        static (long, double, double) Parse(string json, DateTimeOffset at)
        {
            var root = JsonDocument.Parse(json).RootElement;
            return (at.ToUnixTimeMilliseconds(), root.GetProperty("n").GetDouble(), root.GetProperty("s").GetDouble());
        }
    }

    [Fact]
    public void Process_RandomPayloads_NeverThrow()
    {
        var rule = Compile("SELECT a.b[0], c + 1 AS d, concat(e, f) AS g FROM '#' WHERE c > 0 OR c IS NULL");
        Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            var outputs = new List<RuleOutput>();
            rule.Process("x", bytes, "c", T0, outputs);
        });
        Gen.String[Gen.Char["{}[]\":,abcdef0123-.e tnul\\"], 0, 40].Sample(text =>
        {
            var outputs = new List<RuleOutput>();
            rule.Process("x", Encoding.UTF8.GetBytes(text), "c", T0, outputs);
            foreach (var output in outputs)
            {
                JsonDocument.Parse(output.Payload).Dispose();
            }
        });
    }
}
