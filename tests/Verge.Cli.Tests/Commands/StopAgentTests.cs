using Microsoft.Extensions.Time.Testing;
using Verge.Cli.Commands;

namespace Verge.Cli.Tests.Commands;

/// <summary><c>verge up</c> after Ctrl-C: it waits for its in-process agent, but not for ever.</summary>
public sealed class StopAgentTests
{
    [Fact]
    public async Task AnAgentThatDoesNotStop_IsLeftAfterTheTimeout_WithAWarning()
    {
        var time = new FakeTimeProvider();
        var stderr = new StringWriter();
        var context = new CliContext { Out = TextWriter.Null, Error = stderr, Time = time };
        var never = new TaskCompletionSource();

        var stopping = ServerCommand.StopAgentAsync(context, never.Task);
        time.Advance(ServerCommand.AgentStopTimeout - TimeSpan.FromSeconds(1));
        Assert.False(stopping.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("the agent did not stop within 15 s", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAgentThatStops_IsWaitedFor_Quietly()
    {
        var stderr = new StringWriter();
        var context = new CliContext { Out = TextWriter.Null, Error = stderr, Time = new FakeTimeProvider() };
        var agent = new TaskCompletionSource();

        var stopping = ServerCommand.StopAgentAsync(context, agent.Task);
        Assert.False(stopping.IsCompleted);
        agent.SetCanceled();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("", stderr.ToString());
    }
}
