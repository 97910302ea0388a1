using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Channel;
using Verge.Agent.Logs;
using Verge.Agent.Pods;
using Verge.Agent.Tests.Pods;

namespace Verge.Agent.Tests.Logs;

public sealed class LogManagerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-logs-").FullName;
    private readonly Index _index = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Index : IContainerLogIndex
    {
        public Dictionary<string, ContainerLogState> States { get; } = [];

        public List<string> Containers { get; } = ["app"];

        public PodLogTarget? Find(string podNamespace, string podName) =>
            podName == "web" ? new PodLogTarget("u1", "web", Containers, ["setup"], States) : null;
    }

    private LogManager Manager(long maxBytes = 1024, int maxFiles = 3) =>
        new(_dir, _index, new LogOptions { MaxFileBytes = maxBytes, MaxFiles = maxFiles, FollowPoll = TimeSpan.FromMilliseconds(10) }, TimeProvider.System, NullLogger.Instance);

    private string LogFile(int instance, string container = "app")
    {
        var path = Path.Combine(_dir, "pods", "u1", container, $"{instance}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    private static LogQuery Query(string? container = null, bool follow = false, long? tail = null, bool previous = false, long? limit = null) =>
        new("default", "web", container, follow, tail, previous, limit, null, false);

    private static async Task<string> ReadAll(IAsyncEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        var text = new StringBuilder();
        await foreach (var chunk in chunks)
        {
            text.Append(Encoding.UTF8.GetString(chunk.Span));
        }

        return text.ToString();
    }

    private static ContainerLogState Running(int current, int? previous = null) =>
        new(current, previous, true, null, new TaskCompletionSource().Task);

    [Fact]
    public async Task Read_ReturnsTheCurrentInstance_AndTailLines()
    {
        await File.WriteAllTextAsync(LogFile(0), "one\ntwo\nthree\n");
        _index.States["app"] = Running(0);
        var logs = Manager();

        Assert.Equal("one\ntwo\nthree\n", await ReadAll(logs.ReadAsync(Query(), CancellationToken.None)));
        Assert.Equal("two\nthree\n", await ReadAll(logs.ReadAsync(Query(tail: 2), CancellationToken.None)));
        Assert.Equal("", await ReadAll(logs.ReadAsync(Query(tail: 0), CancellationToken.None)));
        Assert.Equal("one\nt", await ReadAll(logs.ReadAsync(Query(limit: 5), CancellationToken.None)));
    }

    [Fact]
    public async Task Previous_ReadsThePriorInstance_OrFailsLikeKubectl()
    {
        await File.WriteAllTextAsync(LogFile(0), "old run\n");
        await File.WriteAllTextAsync(LogFile(1), "new run\n");
        _index.States["app"] = Running(1, previous: 0);
        var logs = Manager();

        Assert.Equal("old run\n", await ReadAll(logs.ReadAsync(Query(previous: true), CancellationToken.None)));

        _index.States["app"] = Running(0);
        var error = await Assert.ThrowsAsync<LogNotFoundException>(() => ReadAll(logs.ReadAsync(Query(previous: true), CancellationToken.None)));
        Assert.Equal("previous terminated container \"app\" in pod \"web\" not found", error.Message);
    }

    [Fact]
    public async Task WaitingContainer_FailsWithKubectlMessage()
    {
        _index.States["app"] = new ContainerLogState(null, null, false, "ImagePullBackOff", Task.CompletedTask);

        var error = await Assert.ThrowsAsync<LogNotFoundException>(() => ReadAll(Manager().ReadAsync(Query(), CancellationToken.None)));

        Assert.Equal("container \"app\" in pod \"web\" is waiting to start: ImagePullBackOff", error.Message);
    }

    [Fact]
    public async Task ContainerName_IsRequiredWhenThePodHasSeveral_AndMustExist()
    {
        _index.Containers.Add("sidecar");
        _index.States["app"] = Running(0);
        var logs = Manager();

        var missing = await Assert.ThrowsAsync<LogNotFoundException>(() => ReadAll(logs.ReadAsync(Query(), CancellationToken.None)));
        var unknown = await Assert.ThrowsAsync<LogNotFoundException>(() => ReadAll(logs.ReadAsync(Query("nope"), CancellationToken.None)));
        var noPod = await Assert.ThrowsAsync<LogNotFoundException>(() => ReadAll(logs.ReadAsync(Query() with { Pod = "other" }, CancellationToken.None)));

        Assert.Equal("a container name must be specified for pod web, choose one of: [app sidecar] or one of the init containers: [setup]", missing.Message);
        Assert.Equal("container nope is not valid for pod web", unknown.Message);
        Assert.Equal("pods \"other\" not found", noPod.Message);
    }

    [Fact]
    public async Task Follow_StreamsNewOutput_UntilTheInstanceExitsAndTheFileIsDrained()
    {
        var file = LogFile(0);
        await File.WriteAllTextAsync(file, "first\n");
        var exited = new TaskCompletionSource();
        _index.States["app"] = new ContainerLogState(0, null, true, null, exited.Task);
        var logs = Manager();
        var received = new StringBuilder();
        var gotFirst = new TaskCompletionSource();

        var reader = Task.Run(async () =>
        {
            await foreach (var chunk in logs.ReadAsync(Query(follow: true), CancellationToken.None))
            {
                lock (received)
                {
                    received.Append(Encoding.UTF8.GetString(chunk.Span));
                }

                gotFirst.TrySetResult();
            }
        });
        await gotFirst.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await File.AppendAllTextAsync(file, "second\n");
        await PodTestHost.Eventually(() => { lock (received) { return received.ToString().Contains("second", StringComparison.Ordinal); } }, "followed line");
        await File.AppendAllTextAsync(file, "last words\n");
        exited.SetResult();

        await reader.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("first\nsecond\nlast words\n", received.ToString());
    }

    [Fact]
    public async Task Rotation_CopiesAndTruncates_KeepsMaxFiles_AndReadsAcrossFiles()
    {
        var file = LogFile(0);
        _index.States["app"] = Running(0);
        var logs = Manager(maxBytes: 1024, maxFiles: 3);
        var line = new string('x', 99) + "\n";
        for (var round = 0; round < 4; round++)
        {
            await File.AppendAllTextAsync(file, string.Concat(Enumerable.Repeat(line.Replace('x', (char)('a' + round)), 11)));
            Assert.Equal(1, logs.RotateAll());
        }

        await File.AppendAllTextAsync(file, "tail\n");

        Assert.Equal(5, new FileInfo(file).Length);
        Assert.True(File.Exists(file + ".1"));
        Assert.True(File.Exists(file + ".2"));
        Assert.False(File.Exists(file + ".3"));
        var all = await ReadAll(logs.ReadAsync(Query(), CancellationToken.None));
        Assert.StartsWith("ccc", all);
        Assert.EndsWith("d\ntail\n", all);
        Assert.Equal(line.Replace('x', 'd') + "tail\n", await ReadAll(logs.ReadAsync(Query(tail: 2), CancellationToken.None)));
        Assert.Equal(0, logs.RotateAll());
    }

    [Fact]
    public async Task Rotation_ForgetsFilesOfDeletedPods()
    {
        var file = LogFile(0);
        var logs = Manager(maxBytes: 1024);
        await File.WriteAllTextAsync(file, new string('x', 2000));
        Assert.Equal(1, logs.RotateAll());
        Assert.Equal(1, logs.TrackedRotations);

        Directory.Delete(Path.Combine(_dir, "pods", "u1"), recursive: true);
        logs.RotateAll();

        Assert.Equal(0, logs.TrackedRotations);
    }

    [Fact]
    public async Task Follow_AcrossACopyTruncateRotation_LosesNothingWrittenBeforeTheCopy()
    {
        var file = LogFile(0);
        await File.WriteAllTextAsync(file, "first\n");
        var exited = new TaskCompletionSource();
        _index.States["app"] = new ContainerLogState(0, null, true, null, exited.Task);
        var logs = Manager(maxBytes: 1024);
        var received = new StringBuilder();
        var gotFirst = new TaskCompletionSource();
        var reader = Task.Run(async () =>
        {
            await foreach (var chunk in logs.ReadAsync(Query(follow: true), CancellationToken.None))
            {
                lock (received)
                {
                    received.Append(Encoding.UTF8.GetString(chunk.Span));
                }

                gotFirst.TrySetResult();
            }
        });
        await gotFirst.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // Written and rotated away before the follower looks again.
        var big = new string('z', 1100) + "\n";
        await File.AppendAllTextAsync(file, big);
        Assert.Equal(1, logs.RotateAll());
        await File.AppendAllTextAsync(file, "after\n");
        await PodTestHost.Eventually(() => { lock (received) { return received.ToString().EndsWith("after\n", StringComparison.Ordinal); } }, "line after rotation");
        exited.SetResult();
        await reader.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal("first\n" + big + "after\n", received.ToString());
    }

    [Fact]
    public async Task Since_SkipsFilesLastWrittenBeforeIt()
    {
        var file = LogFile(0);
        await File.WriteAllTextAsync(file + ".1", "old\n");
        File.SetLastWriteTimeUtc(file + ".1", DateTime.UtcNow.AddHours(-2));
        await File.WriteAllTextAsync(file, "new\n");
        _index.States["app"] = Running(0);

        var text = await ReadAll(Manager().ReadAsync(Query() with { Since = DateTimeOffset.UtcNow.AddHours(-1) }, CancellationToken.None));

        Assert.Equal("new\n", text);
    }

    [Fact]
    public async Task Logs_OfARealPodWorker_FollowInstancesAcrossRestarts()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("web");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        host.Driver.Exit("app", 1);
        await PodTestHost.Eventually(() => host.Container(pod)?.RestartCount == 1 && host.Container(pod)?.State?.Running is not null, "restarted");
        await using var logs = new LogManager(host.DataDir, host.Manager, new LogOptions(), TimeProvider.System, NullLogger.Instance);

        var current = await ReadAll(logs.ReadAsync(Query(), CancellationToken.None));
        var previous = await ReadAll(logs.ReadAsync(Query(previous: true), CancellationToken.None));

        Assert.Equal("started uid-web-app-1\n", current);
        Assert.Equal("started uid-web-app-0\n", previous);
    }
}
