using Verge.Gateway.Auth;

namespace Verge.Gateway.Tests.Auth;

public sealed class TopicAclTests
{
    [Theory]
    [InlineData("devices/d1/telemetry", true)]
    [InlineData("devices/d1/twin/reported", true)]
    [InlineData("devices/d1/a/b/c", true)]
    [InlineData("devices/d1/", false)]
    [InlineData("devices/d1", false)]
    [InlineData("devices/d10/telemetry", false)]
    [InlineData("devices/d2/telemetry", false)]
    [InlineData("devices/d1/+/x", false)]
    [InlineData("local/x", false)]
    [InlineData("", false)]
    public void CanPublish_OnlyUnderTheDevicesOwnPrefix(string topic, bool allowed) =>
        Assert.Equal(allowed, TopicAcl.CanPublish("d1", topic));

    [Theory]
    [InlineData("devices/d1/commands/#", true)]
    [InlineData("devices/d1/commands", true)]
    [InlineData("devices/d1/commands/reboot", true)]
    [InlineData("devices/d1/commands/+", true)]
    [InlineData("devices/d1/twin/#", true)]
    [InlineData("devices/d1/twin/desired", true)]
    [InlineData("devices/d1/commandsx", false)]
    [InlineData("devices/d1/#", false)]
    [InlineData("devices/d1/telemetry", false)]
    [InlineData("devices/+/commands/#", false)]
    [InlineData("devices/d2/commands/#", false)]
    [InlineData("devices/d10/commands/#", false)]
    [InlineData("#", false)]
    public void CanSubscribe_OnlyToOwnCommandsAndTwin(string filter, bool allowed) =>
        Assert.Equal(allowed, TopicAcl.CanSubscribe("d1", filter));
}
