using Verge.Core.Rules;

namespace Verge.Core.Tests.Rules;

public sealed class TopicFilterTests
{
    [Theory]
    [InlineData("devices/+/telemetry", "devices/d1/telemetry", true)]
    [InlineData("devices/+/telemetry", "devices/d1/telemetry/x", false)]
    [InlineData("devices/+/telemetry", "devices/telemetry", false)]
    [InlineData("devices/+/telemetry", "devices//telemetry", true)]
    [InlineData("devices/#", "devices", true)]
    [InlineData("devices/#", "devices/a/b/c", true)]
    [InlineData("devices/#", "device", false)]
    [InlineData("#", "a/b", true)]
    [InlineData("#", "$SYS/x", false)]
    [InlineData("+/x", "$SYS/x", false)]
    [InlineData("$SYS/#", "$SYS/x", true)]
    [InlineData("a/+", "a", false)]
    [InlineData("a/+", "a/", true)]
    [InlineData("a/b", "a/b", true)]
    [InlineData("a/b", "a/bc", false)]
    [InlineData("a/b", "A/b", false)]
    public void Matches_FollowsMqttWildcardRules(string filter, string topic, bool expected) =>
        Assert.Equal(expected, TopicFilter.Parse(filter).Matches(topic));

    [Theory]
    [InlineData("a/b#", "'#' must be the last level of the topic filter, alone")]
    [InlineData("a/#/c", "'#' must be the last level of the topic filter, alone")]
    [InlineData("a/++", "'+' must occupy a whole level of the topic filter")]
    [InlineData("", "topic filter must not be empty")]
    [InlineData("a\0b", "topic filter must not contain U+0000")]
    public void TryParse_WhenInvalid_SaysWhy(string filter, string reason)
    {
        Assert.Null(TopicFilter.TryParse(filter, out var error, out _));
        Assert.Equal(reason, error);
    }

    [Theory]
    [InlineData("a/b/c", 1, "a")]
    [InlineData("a/b/c", 3, "c")]
    [InlineData("a//c", 2, "")]
    public void TryGetLevel_ReturnsOneBasedLevel(string topic, int level, string expected)
    {
        Assert.True(TopicFilter.TryGetLevel(topic, level, out var segment));
        Assert.Equal(expected, segment.ToString());
    }

    [Fact]
    public void TryGetLevel_BeyondTheTopic_IsFalse() => Assert.False(TopicFilter.TryGetLevel("a/b", 3, out _));
}
