using Verge.Cli.Commands;

namespace Verge.Cli.Tests.Commands;

/// <summary>verge exec's request, and its arguments, before any server is involved.</summary>
public sealed class ExecCommandTests
{
    [Fact]
    public void Path_RepeatsCommandWords_EscapesThem_AndAsksForStderrApart()
    {
        var path = ExecCommand.ExecPath("edge", "web-1", "app", ["sh", "-c", "echo a&b=c"], stdin: false, tty: false);

        Assert.Equal("/api/v1/namespaces/edge/pods/web-1/exec?command=sh&command=-c&command=echo%20a%26b%3Dc&container=app&stdout=true&stderr=true", path);
    }

    [Fact]
    public void Path_WithATerminal_HasOneOutput_AndStdin()
    {
        var path = ExecCommand.ExecPath("default", "web-1", null, ["sh"], stdin: true, tty: true);

        Assert.Equal("/api/v1/namespaces/default/pods/web-1/exec?command=sh&stdout=true&tty=true&stdin=true", path);
    }

    [Fact]
    public async Task MissingCommand_OrAFlagBeforeTheDoubleDash_IsAUsageError_BeforeAnyKubeconfigIsRead()
    {
        using var cli = new CliHarness();

        var none = await cli.RunAsync("exec", "web-1");
        var unknown = await cli.RunAsync("exec", "web-1", "-x", "--", "ls");
        var badPod = await cli.RunAsync("exec", "deployment/web", "--", "ls");

        Assert.Equal(1, none.ExitCode);
        Assert.Contains("Required argument missing", none.Error, StringComparison.Ordinal);
        Assert.Equal((1, "error: unknown flag: -x. See 'verge exec --help'.\n"), (unknown.ExitCode, unknown.Error));
        Assert.Equal((1, "error: \"deployment/web\" is not a pod name: verge exec takes POD or pod/POD\n"), (badPod.ExitCode, badPod.Error));
    }
}
