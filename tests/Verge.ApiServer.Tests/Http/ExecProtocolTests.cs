using System.Text;
using Verge.ApiServer.Http;

namespace Verge.ApiServer.Tests.Http;

/// <summary>The pieces of kubectl exec's stream protocol the API server reads and writes itself.</summary>
public sealed class ExecProtocolTests
{
    [Theory]
    [InlineData("""{"Width":80,"Height":24}""", 80u, 24u)]
    [InlineData("""{"height":50,"width":200,"extra":[1,{"a":2}]}""", 200u, 50u)]
    public void TerminalSize_IsReadFromTheResizeChannel(string json, uint width, uint height)
    {
        Assert.True(ResourceEndpoint.TryParseSize(Encoding.UTF8.GetBytes(json), out var w, out var h));
        Assert.Equal((width, height), (w, h));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"Width":80}""")]
    [InlineData("""{"Width":-1,"Height":24}""")]
    [InlineData("""{"Width":"80","Height":"24"}""")]
    [InlineData("""{"Width":0,"Height":0}""")]
    [InlineData("[80,24]")]
    [InlineData("""{"Width":80,"Height":24""")]
    public void BadResizeMessages_AreIgnored_NotFatal(string json) =>
        Assert.False(ResourceEndpoint.TryParseSize(Encoding.UTF8.GetBytes(json), out _, out _));

    [Theory]
    [InlineData(new[] { "v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io" }, "v5.channel.k8s.io")]
    [InlineData(new[] { "v4.channel.k8s.io", "v5.channel.k8s.io" }, "v5.channel.k8s.io")]
    [InlineData(new[] { "v4.channel.k8s.io", "channel.k8s.io" }, "v4.channel.k8s.io")]
    [InlineData(new[] { "v3.channel.k8s.io", "channel.k8s.io" }, null)]
    [InlineData(new string[0], null)]
    public void StreamProtocol_IsTheNewestBothSidesSpeak(string[] offered, string? chosen) =>
        Assert.Equal(chosen, ResourceEndpoint.ChooseStreamProtocol(offered));

    [Fact]
    public void NonZeroExit_CarriesTheCodeAsKubectlParsesIt()
    {
        var status = ResourceEndpoint.NonZeroExit(["sh", "-c", "exit 7"], 7);

        Assert.Equal(("Failure", "NonZeroExitCode"), (status.Outcome, status.Reason));
        var cause = Assert.Single(status.Details!.Causes!);
        Assert.Equal(("ExitCode", "7"), (cause.Reason, cause.Message));
    }
}
