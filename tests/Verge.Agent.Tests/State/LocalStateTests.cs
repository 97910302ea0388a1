using System.Text;
using Verge.Agent.Channel;
using Verge.Agent.Drivers;
using Verge.Agent.State;

namespace Verge.Agent.Tests.State;

public sealed class LocalStateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-state-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static DesiredChange Put(DesiredKind kind, string ns, string name, long revision, string json) =>
        new(new DesiredKey(kind, ns, name), false, revision, Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task Apply_ThenReopen_KeepsObjectsAndLastRevision()
    {
        using (var state = LocalState.Open(_dir))
        {
            await state.ApplyAsync(new DesiredBatch(7, false, [Put(DesiredKind.ConfigMap, "default", "cfg", 7, """{"metadata":{"name":"cfg","namespace":"default"},"data":{"a":"1"}}""")]), CancellationToken.None);
        }

        using var reopened = LocalState.Open(_dir);

        Assert.Equal(7, reopened.LastRevision);
        Assert.Equal("1", reopened.GetConfigMap("default", "cfg")!.Data!["a"]);
        Assert.Equal([new DesiredKey(DesiredKind.ConfigMap, "default", "cfg")], reopened.HeldKeys());
        Assert.True(File.Exists(Path.Combine(_dir, "agent.db")));
    }

    [Fact]
    public void Open_WhileAnotherAgentHoldsTheDirectory_IsRefused()
    {
        using var first = LocalState.Open(_dir);

        var error = Assert.Throws<IOException>(() => LocalState.Open(_dir));

        Assert.Equal($"the agent state directory {_dir} is in use by another process; stop that one first", error.Message);
    }

    [Fact]
    public async Task Snapshot_RemovesHeldObjectsItDoesNotName()
    {
        using var state = LocalState.Open(_dir);
        await state.ApplyAsync(new DesiredBatch(1, false, [Put(DesiredKind.Secret, "default", "old", 1, "{}"), Put(DesiredKind.Device, "", "sensor", 1, "{}")]), CancellationToken.None);
        DesiredStateChange? seen = null;
        state.Changed += c => seen = c;

        await state.ApplyAsync(new DesiredBatch(9, true, [Put(DesiredKind.Device, "", "sensor", 9, "{}"), Put(DesiredKind.DataRule, "default", "r", 9, "{}")]), CancellationToken.None);

        Assert.Equal(2, state.HeldKeys().Count);
        Assert.Null(state.GetJson(new DesiredKey(DesiredKind.Secret, "default", "old")));
        Assert.Single(state.List(DesiredKind.DataRule));
        Assert.True(seen!.Snapshot);
        Assert.Contains(new DesiredKey(DesiredKind.Secret, "default", "old"), seen.Keys);
        Assert.Equal(9, state.LastRevision);
    }

    [Fact]
    public async Task Delete_RemovesTheObject_AndRaisesChange()
    {
        using var state = LocalState.Open(_dir);
        await state.ApplyAsync(new DesiredBatch(1, false, [Put(DesiredKind.Pod, "default", "p", 1, "{}")]), CancellationToken.None);
        var changes = new List<DesiredStateChange>();
        state.Changed += changes.Add;

        await state.ApplyAsync(new DesiredBatch(2, false, [new DesiredChange(new DesiredKey(DesiredKind.Pod, "default", "p"), true, 2, null)]), CancellationToken.None);

        Assert.Empty(state.HeldKeys());
        Assert.Single(changes);
    }

    [Fact]
    public async Task Apply_WithAChangeLackingJson_FailsClearly_AndChangesNothing()
    {
        using var state = LocalState.Open(_dir);
        var bad = new DesiredChange(new DesiredKey(DesiredKind.Pod, "default", "p"), false, 3, null);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => state.ApplyAsync(new DesiredBatch(3, false, [Put(DesiredKind.Pod, "default", "q", 3, "{}"), bad]), CancellationToken.None));

        Assert.Contains("Pod default/p", error.Message);
        Assert.Empty(state.HeldKeys());
        Assert.Equal(0, state.LastRevision);
    }

    [Fact]
    public async Task ListPods_SkipsObjectsThatDoNotParse()
    {
        using var state = LocalState.Open(_dir);
        await state.ApplyAsync(new DesiredBatch(1, false, [Put(DesiredKind.Pod, "default", "ok", 1, """{"metadata":{"name":"ok","uid":"u1"},"spec":{"containers":[{"name":"c"}]}}"""), Put(DesiredKind.Pod, "default", "bad", 1, "not json")]), CancellationToken.None);
        var invalid = new List<DesiredKey>();

        var pods = state.ListPods((key, _) => invalid.Add(key));

        Assert.Equal("ok", Assert.Single(pods).Metadata.Name);
        Assert.Equal("default", pods[0].Metadata.Namespace);
        Assert.Equal("bad", Assert.Single(invalid).Name);
    }

    [Fact]
    public void Tasks_SurviveReopen_AndAreForgottenPerPod()
    {
        var handle = new TaskHandle("runc", "u1-app-2", "{\"pid\":42}", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using (var state = LocalState.Open(_dir))
        {
            state.SaveTask(new TaskRecord
            {
                PodUid = "u1",
                Container = "app",
                RestartCount = 2,
                Handle = handle,
                LastTermination = new TerminationRecord(137, 9, "OOMKilled", null, null, DateTimeOffset.UnixEpoch, "runc://u1-app-1"),
            });
            state.SaveTask(new TaskRecord { PodUid = "u2", Container = "app" });
        }

        using var reopened = LocalState.Open(_dir);
        var record = reopened.GetTask("u1", "app")!;
        Assert.Equal(2, record.RestartCount);
        Assert.Equal(handle, record.Handle);
        Assert.Equal("OOMKilled", record.LastTermination!.Reason);

        reopened.DeleteTasks("u1");
        Assert.Single(reopened.ListTasks());
    }
}
