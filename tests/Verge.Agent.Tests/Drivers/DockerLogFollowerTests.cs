using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Drivers.Docker;

namespace Verge.Agent.Tests.Drivers;

/// <summary>How the docker driver's log follower resumes: each line once, even with whole-second timestamps.</summary>
public sealed class DockerLogFollowerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-follower-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Resume_AfterRestart_CopiesEachLineOnce_WhenLinesShareASecond()
    {
        var first = Follower();
        first.BeginResume();
        first.Append(Frame("2026-11-26T14:33:28Z a\n2026-11-26T14:33:28Z b\n"));

        // A new agent: the engine replays from a second earlier, including lines of the same second already copied.
        var second = Follower();
        second.LoadPosition();
        second.BeginResume();
        second.Append(Frame("2026-11-26T14:33:27Z old\n2026-11-26T14:33:28Z a\n2026-11-26T14:33:28Z b\n"));
        second.Append(Frame("2026-11-26T14:33:28Z c\n2026-11-26T14:33:29.5Z d\n"));

        Assert.Equal("a\nb\nc\nd\n", File.ReadAllText(Path.Combine(_dir, "task.log")));
    }

    [Fact]
    public void Append_KeepsALineWithoutTimestampAsItIs()
    {
        var follower = Follower();
        follower.BeginResume();

        follower.Append(Frame("no-timestamp-here\n2026-11-26T14:33:28.000000001Z stamped\n"));

        Assert.Equal("no-timestamp-here\nstamped\n", File.ReadAllText(Path.Combine(_dir, "task.log")));
    }

    private DockerLogFollower Follower()
    {
        var options = new DockerDriverOptions { StateDirectory = _dir, Socket = "unix:///nonexistent/docker.sock" };
        var api = new DockerApiClient(options.SocketPath, options.ApiVersion, options.RequestTimeout);
        return new DockerLogFollower(
            api, "c1", Path.Combine(_dir, "task.log"), Path.Combine(_dir, "position.json"), options, TimeProvider.System, NullLogger.Instance);
    }

    private static byte[] Frame(string text) => Encoding.UTF8.GetBytes(text);
}
