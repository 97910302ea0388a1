using System.Text.Json.Nodes;
using Google.Protobuf;
using Verge.Agent.Channel;
using Verge.Core.Core;
using Verge.NodeChannel.Protocol;
using Xunit.Abstractions;
using static Verge.Agent.Tests.Channel.ChannelHarness;

namespace Verge.Agent.Tests.Channel;

public sealed class NodeChannelClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ChannelHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await ChannelHarness.StartAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task FirstConnect_GetsSnapshotOfExactlyTheNodesPodsAndTheirConfig()
    {
        await _harness.CreateConfigMapAsync("cm1", "one");
        await _harness.CreateConfigMapAsync("cm2", "two");
        await _harness.CreateConfigMapAsync("unused", "x");
        await _harness.CreateSecretAsync("s1");
        await _harness.CreatePodAsync("a", "n1", configMap: "cm1", secret: "s1");
        await _harness.CreatePodAsync("b", "n2", configMap: "cm2");
        await _harness.CreatePodAsync("pending", null, configMap: "cm2");
        var state = new InMemoryDesiredState();

        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), state));
        await running.SyncedAsync();

        Assert.True(state.Batches[0].Snapshot);
        Assert.Equal(
            ["ConfigMap/cm1", "Pod/a", "Secret/s1"],
            state.Objects().Keys.Select(k => $"{k.Kind}/{k.Name}").Order(StringComparer.Ordinal));
        Assert.Equal("one", state.Object(DesiredKind.ConfigMap, "cm1")["data"]!["value"]!.GetValue<string>());
        Assert.True(state.LastRevision > 0);
    }

    [Fact]
    public async Task LiveChanges_CreateUpdateDelete_ArriveWithTheConfigTheyUse()
    {
        await _harness.CreateConfigMapAsync("cm1", "one");
        await _harness.CreatePodAsync("a", "n1", configMap: "cm1");
        var state = new InMemoryDesiredState();
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), state));
        await running.SyncedAsync();

        await _harness.CreateConfigMapAsync("cm2", "two");
        await _harness.CreatePodAsync("c", "n1", configMap: "cm2");
        await _harness.CreatePodAsync("other", "n2");
        await EventuallyAsync(() => state.Holds(DesiredKind.Pod, "c") && state.Holds(DesiredKind.ConfigMap, "cm2"), "pod c and cm2 arrive");

        await _harness.PatchAsync("/api/v1/namespaces/default/configmaps/cm1", """{"data":{"value":"changed"}}""");
        await EventuallyAsync(() => state.Object(DesiredKind.ConfigMap, "cm1")["data"]!["value"]!.GetValue<string>() == "changed", "cm1's update arrives");

        // A graceful delete reaches the node as the pod with its deletionTimestamp (the node stops it, then
        // confirms); the node's confirmation removes it, and with it the config only it used.
        await _harness.DeleteAsync("/api/v1/namespaces/default/pods/a");
        await EventuallyAsync(() => state.Holds(DesiredKind.Pod, "a") && state.Object(DesiredKind.Pod, "a")["metadata"]!["deletionTimestamp"] is not null,
            "pod a arrives marked for deletion");
        Assert.True(state.Holds(DesiredKind.ConfigMap, "cm1"));
        await _harness.DeleteAsync("/api/v1/namespaces/default/pods/a?gracePeriodSeconds=0");
        await EventuallyAsync(() => !state.Holds(DesiredKind.Pod, "a") && !state.Holds(DesiredKind.ConfigMap, "cm1"), "pod a and the config only it used are deleted");
        Assert.False(state.Holds(DesiredKind.Pod, "other"));
    }

    [Fact]
    public async Task Reconnect_AfterChangesWhileAway_TransfersOnlyTheChangesAndDeletions()
    {
        await _harness.CreateConfigMapAsync("cm1", "one");
        await _harness.CreateConfigMapAsync("cm2", "two");
        await _harness.CreatePodAsync("a", "n1", configMap: "cm1");
        await _harness.CreatePodAsync("b", "n1", configMap: "cm2");
        for (var i = 0; i < 20; i++)
        {
            await _harness.CreatePodAsync($"steady-{i}", "n1");
        }

        var state = new InMemoryDesiredState();
        var identity = _harness.Identity("n1");
        await using (var first = new RunningClient(_harness.NewClient(identity, state)))
        {
            await first.SyncedAsync();
        }

        Assert.Equal(24, state.Objects().Count);
        await _harness.PatchAsync("/api/v1/namespaces/default/configmaps/cm1", """{"data":{"value":"changed"}}""");
        await _harness.DeleteAsync("/api/v1/namespaces/default/pods/b?gracePeriodSeconds=0");
        await _harness.CreatePodAsync("d", "n1");
        await _harness.CreatePodAsync("elsewhere", "n2");
        var before = state.Batches.Count;

        await using var second = new RunningClient(_harness.NewClient(identity, state));
        await second.SyncedAsync();

        var catchUp = state.Batches.Skip(before).ToList();
        var changes = catchUp.SelectMany(b => b.Changes).ToList();
        output.WriteLine($"catch-up: {string.Join(", ", changes.Select(c => (c.Deleted ? "-" : "+") + c.Key.Name))}; bytes received {second.Client.BytesReceived}");
        Assert.False(catchUp[0].Snapshot);
        Assert.Equal(
            ["+cm1", "+d", "-b", "-cm2"],
            changes.Select(c => (c.Deleted ? "-" : "+") + c.Key.Name).Order(StringComparer.Ordinal));
        Assert.Equal("changed", state.Object(DesiredKind.ConfigMap, "cm1")["data"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reconnect_WithNoChanges_TransfersNoObjects()
    {
        await _harness.CreateConfigMapAsync("cm1", "one");
        for (var i = 0; i < 50; i++)
        {
            await _harness.CreatePodAsync($"p{i}", "n1", configMap: "cm1");
        }

        var state = new InMemoryDesiredState();
        var identity = _harness.Identity("n1");
        long firstBytes;
        await using (var first = new RunningClient(_harness.NewClient(identity, state)))
        {
            await first.SyncedAsync();
            firstBytes = first.Client.BytesReceived;
        }

        var before = state.ChangesApplied;
        await using var second = new RunningClient(_harness.NewClient(identity, state));
        await second.SyncedAsync();

        output.WriteLine($"first connect received {firstBytes} bytes ({before} objects); reconnect received {second.Client.BytesReceived} bytes");
        Assert.Equal(51, before);
        Assert.Equal(before, state.ChangesApplied);
        Assert.True(second.Client.BytesReceived < firstBytes, $"reconnect {second.Client.BytesReceived} bytes, first connect {firstBytes}");
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task Reconnect_ToTheSameServer_ResumesTheTlsSession_WithoutSendingCertificates(string host)
    {
        // A TLS request of the harness's admin client: the server switches its context to stateful tickets on its
        // first connection, so the node's first handshake below already gets one.
        await _harness.CreatePodAsync("a", "n1");
        var server = new UriBuilder(_harness.Host.Address) { Host = host }.Uri;
        var identity = _harness.Identity("n1");
        var state = new InMemoryDesiredState();
        TlsHandshake full;
        long fullBytes;
        await using (var first = new RunningClient(_harness.NewClient(identity, state, servers: [server])))
        {
            await first.SyncedAsync();
            full = first.Client.LastHandshake!;
            fullBytes = first.Client.BytesSent + first.Client.BytesReceived;
        }

        await using var second = new RunningClient(_harness.NewClient(identity, state, servers: [server]));
        await second.SyncedAsync();
        var resumed = second.Client.LastHandshake!;

        var serving = _harness.ServingCertificate().RawData.Length;
        output.WriteLine($"{host}: full handshake {full.BytesSent} / {full.BytesReceived} B sent / received (connection {fullBytes} B), " +
            $"resumed {resumed.BytesSent} / {resumed.BytesReceived} B; server certificate {serving} B, node certificate {identity.ClientCertificate.RawData.Length} B");
        output.WriteLine($"reconnect up to its catch-up: {second.Client.BytesSent} / {second.Client.BytesReceived} B");
        Assert.True(full.BytesReceived > serving, "a full handshake carries the server's certificate");
        Assert.True(resumed.BytesReceived < serving, $"the resumed handshake received {resumed.BytesReceived} bytes, less than the server certificate alone ({serving})");

        // The server's tickets are stateful: the one the ClientHello presents is a session id, not the session with the
        // node certificate, so the resumed handshake sends less than the full one (which sent the certificate itself).
        Assert.True(resumed.BytesSent < full.BytesSent, $"the resumed handshake sent {resumed.BytesSent} bytes, the full one {full.BytesSent}");
    }

    [Fact]
    public async Task Reconnect_AfterTheServerRestarts_ResumesFromTheLastRevision()
    {
        await _harness.CreateConfigMapAsync("cm1", "one");
        await _harness.CreatePodAsync("a", "n1", configMap: "cm1");
        var state = new InMemoryDesiredState();
        var client = _harness.NewClient(_harness.Identity("n1"), state);
        var syncs = 0;
        client.Synced += () => Interlocked.Increment(ref syncs);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();
        var before = state.Batches.Count;

        await _harness.RestartAsync(() => EventuallyAsync(() => !client.Connected, "the client notices the server is gone"));
        await EventuallyAsync(() => Volatile.Read(ref syncs) >= 2, "the client catches up with the restarted server");

        // An empty catch-up at the revision the agent already has is not even applied.
        var catchUp = state.Batches.Skip(before).ToList();
        Assert.DoesNotContain(catchUp, b => b.Snapshot);
        Assert.Empty(catchUp.SelectMany(b => b.Changes));

        await _harness.CreatePodAsync("b", "n1");
        await EventuallyAsync(() => state.Holds(DesiredKind.Pod, "b"), "a pod created after the restart arrives");
    }

    [Fact]
    public async Task PodStatus_ReachesTheApi_AndOnlyTheLatestPerPodIsSent()
    {
        var pod = await _harness.CreatePodAsync("a", "n1");
        var uid = pod["metadata"]!["uid"]!.GetValue<string>();
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Pending" });
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Running", PodIP = "10.1.0.5" });
        Assert.Equal(1, client.PendingStatuses);

        await using var running = new RunningClient(client);
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["podIP"]?.GetValue<string>() == "10.1.0.5",
            "the latest status is in the API");
        Assert.Equal("Running", (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]!["phase"]!.GetValue<string>());

        client.PublishPodStatus("default", "a", "not-the-uid", new PodStatus { Phase = "Failed" });
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Succeeded" });
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["phase"]?.GetValue<string>() == "Succeeded",
            "the newer status is in the API");
    }

    [Fact]
    public async Task PodStatus_SentIntoALinkThatSilentlyDied_ReachesTheApiAfterTheLinkHeals()
    {
        var pod = await _harness.CreatePodAsync("a", "n1");
        var uid = pod["metadata"]!["uid"]!.GetValue<string>();
        await using var proxy = new BlackholeProxy(_harness.Host.Address);
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), servers: [proxy.Address]);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Pending" });
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["phase"]?.GetValue<string>() == "Pending",
            "the first status is in the API");

        // The link dies without a FIN or RST: the next status leaves the agent before it can notice.
        proxy.Cut();
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Running", PodIP = "10.1.0.7" });
        await EventuallyAsync(() => client.PendingStatuses == 0, "the status is handed to the dead connection");
        await EventuallyAsync(() => !client.Connected, "the agent notices the dead link");
        Assert.Equal("Pending", (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]!["phase"]!.GetValue<string>());

        proxy.Heal();
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["podIP"]?.GetValue<string>() == "10.1.0.7",
            "the status that was lost on the dead link is sent again", seconds: 60);
    }

    [Fact]
    public async Task PodStatus_TwoChangesSentIntoALinkThatSilentlyDied_TheNewestReachesTheApiAfterTheLinkHeals()
    {
        var pod = await _harness.CreatePodAsync("a", "n1");
        var uid = pod["metadata"]!["uid"]!.GetValue<string>();
        await using var proxy = new BlackholeProxy(_harness.Host.Address);
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), servers: [proxy.Address]);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Pending" });
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["phase"]?.GetValue<string>() == "Pending",
            "the first status is in the API");

        // Two statuses of the pod leave the agent in two batches before it notices the dead link: neither is
        // acknowledged, both are put back, and only the newer may be sent again.
        proxy.Cut();
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Running", PodIP = "10.1.0.7" });
        await EventuallyAsync(() => client.PendingStatuses == 0, "the first status is handed to the dead connection");
        client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Succeeded", PodIP = "10.1.0.7" });
        await EventuallyAsync(() => client.PendingStatuses == 0, "the second status is handed to the dead connection");
        await EventuallyAsync(() => !client.Connected, "the agent notices the dead link");

        proxy.Heal();
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["phase"]?.GetValue<string>() == "Succeeded",
            "the newest status reaches the API", seconds: 60);
        Assert.Equal(0, client.PendingStatuses);
    }

    [Fact]
    public async Task PodStatus_WrittenByTheNode_IsNotEchoedBack_ButSpecAndMetadataChangesAre()
    {
        var pod = await _harness.CreatePodAsync("a", "n1");
        var uid = pod["metadata"]!["uid"]!.GetValue<string>();
        var state = new InMemoryDesiredState();
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), state));
        await running.SyncedAsync();
        var before = state.ChangesApplied;

        running.Client.PublishPodStatus("default", "a", uid, new PodStatus { Phase = "Running", PodIP = "10.1.0.9" });
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["podIP"]?.GetValue<string>() == "10.1.0.9",
            "the status is in the API");
        await _harness.PatchAsync("/api/v1/namespaces/default/pods/a", """{"metadata":{"labels":{"tier":"edge"}}}""");
        await EventuallyAsync(() => state.Object(DesiredKind.Pod, "a")["metadata"]!["labels"]?["tier"]?.GetValue<string>() == "edge", "the label change arrives");

        // The changes reach the node in revision order: had the status write been echoed, it would have come first.
        Assert.Equal(before + 1, state.ChangesApplied);
    }

    [Fact]
    public async Task ReadinessGateCondition_SetByAnother_ReachesTheNode_ButTheNodesOwnReportsDoNot()
    {
        var pod = await _harness.CreateAsync("/api/v1/namespaces/default/pods",
            """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"gated"},"spec":{"nodeName":"n1","readinessGates":[{"conditionType":"example.com/lb"}],"containers":[{"name":"main","image":"busybox"}]}}""");
        var state = new InMemoryDesiredState();
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), state));
        await running.SyncedAsync();
        var before = state.ChangesApplied;

        running.Client.PublishPodStatus("default", "gated", Uid(pod), new PodStatus
        {
            Phase = "Running",
            Conditions = [new PodCondition { Type = "Ready", Status = "False", Reason = "ReadinessGatesNotReady" }],
        });
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/gated"))!["status"]?["phase"]?.GetValue<string>() == "Running",
            "the node's status is in the API");
        await _harness.PatchAsync("/api/v1/namespaces/default/pods/gated/status",
            """{"status":{"conditions":[{"type":"example.com/lb","status":"True"}]}}""", "application/strategic-merge-patch+json");

        await EventuallyAsync(() => state.Object(DesiredKind.Pod, "gated")["status"]?["conditions"]?.AsArray()
            .Any(c => c!["type"]!.GetValue<string>() == "example.com/lb" && c["status"]!.GetValue<string>() == "True") == true,
            "the gate's condition arrives");
        Assert.Equal(before + 1, state.ChangesApplied);
    }

    [Fact]
    public async Task PodStatus_KeepsTheConditionsOthersSet_AndReplacesTheNodesOwn()
    {
        var pod = await _harness.CreatePodAsync("evicted", "n1");
        var uid = Uid(pod);
        await _harness.PatchAsync("/api/v1/namespaces/default/pods/evicted/status",
            """{"status":{"conditions":[{"type":"DisruptionTarget","status":"True","reason":"EvictionByEvictionAPI","message":"Eviction API: evicting"},{"type":"Ready","status":"True"}]}}""");
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());
        client.PublishPodStatus("default", "evicted", uid, new PodStatus
        {
            Phase = "Running",
            Conditions = [new PodCondition { Type = "Ready", Status = "False", Reason = "ContainersNotReady" }],
        });

        await using var running = new RunningClient(client);
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/evicted"))!["status"]?["phase"]?.GetValue<string>() == "Running",
            "the status is written");
        var conditions = (await _harness.GetAsync("/api/v1/namespaces/default/pods/evicted"))!["status"]!["conditions"]!.AsArray()
            .ToDictionary(c => c!["type"]!.GetValue<string>(), c => c!["status"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["Ready"] = "False", ["DisruptionTarget"] = "True" }, conditions);
    }

    [Fact]
    public async Task PodStatus_ForAPodOfAnotherNode_IsRefused()
    {
        var pod = await _harness.CreatePodAsync("theirs", "n2");
        var uid = pod["metadata"]!["uid"]!.GetValue<string>();
        var mine = await _harness.CreatePodAsync("mine", "n1");
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());
        client.PublishPodStatus("default", "theirs", uid, new PodStatus { Phase = "Failed" });
        client.PublishPodStatus("default", "mine", mine["metadata"]!["uid"]!.GetValue<string>(), new PodStatus { Phase = "Running" });

        await using var running = new RunningClient(client);
        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/mine"))!["status"]?["phase"]?.GetValue<string>() == "Running",
            "the node's own pod status is written");
        Assert.Equal("Pending", (await _harness.GetAsync("/api/v1/namespaces/default/pods/theirs"))!["status"]!["phase"]!.GetValue<string>());
    }

    [Fact]
    public async Task PodTerminated_EndsTheGracefulDeletion_OnlyOfTheNodesOwnPodsBeingDeleted()
    {
        var leaving = await _harness.CreatePodAsync("leaving", "n1");
        var running = await _harness.CreatePodAsync("running", "n1");
        var theirs = await _harness.CreatePodAsync("theirs", "n2");
        await _harness.DeleteAsync("/api/v1/namespaces/default/pods/leaving");
        await _harness.DeleteAsync("/api/v1/namespaces/default/pods/theirs");
        var marked = await _harness.GetAsync("/api/v1/namespaces/default/pods/leaving");
        Assert.NotNull(marked!["metadata"]!["deletionTimestamp"]);
        Assert.Equal(30, marked["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<int>());

        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState());
        client.PublishPodTerminated("default", "theirs", Uid(theirs), null);
        client.PublishPodTerminated("default", "running", Uid(running), new PodStatus { Phase = "Failed" });
        client.PublishPodTerminated("default", "leaving", Uid(leaving), new PodStatus { Phase = "Succeeded" });
        await using var session = new RunningClient(client);

        await EventuallyAsync(async () => await _harness.GetAsync("/api/v1/namespaces/default/pods/leaving") is null, "the terminated pod is removed");
        await EventuallyAsync(() => client.PendingStatuses == 0, "every report sent");

        // A pod not being deleted keeps running in the API (its status is written), another node's pod stays Terminating.
        var kept = await _harness.GetAsync("/api/v1/namespaces/default/pods/running");
        Assert.Null(kept!["metadata"]!["deletionTimestamp"]);
        Assert.NotNull((await _harness.GetAsync("/api/v1/namespaces/default/pods/theirs"))!["metadata"]!["deletionTimestamp"]);
    }

    private static string Uid(JsonObject obj) => obj["metadata"]!["uid"]!.GetValue<string>();

    [Fact]
    public async Task Heartbeat_CreatesTheNodeLease_AndRenewsIt()
    {
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState()));
        JsonObject? lease = null;
        await EventuallyAsync(async () => (lease = await _harness.GetAsync("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1")) is not null, "the lease exists");
        Assert.Equal("n1", lease!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(4, lease["spec"]!["leaseDurationSeconds"]!.GetValue<int>());
        var firstRenewal = lease["spec"]!["renewTime"]!.GetValue<string>();
        await EventuallyAsync(async () => (await _harness.GetAsync("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"))!["spec"]!["renewTime"]!.GetValue<string>() != firstRenewal,
            "the lease is renewed");
    }

    [Fact]
    public async Task NodeReport_CreatesTheNode_ThenUpdatesLabelsAndStatus_KeepingTaints()
    {
        var report = NodeReport("n1", "edge");
        var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), report: () => report));
        await using (running)
        {
            await EventuallyAsync(async () => await _harness.GetAsync("/api/v1/nodes/n1") is not null, "the node is created");
            var node = (await _harness.GetAsync("/api/v1/nodes/n1"))!;
            Assert.Equal("edge", node["metadata"]!["labels"]!["verge.dev/role"]!.GetValue<string>());
            Assert.Equal("4Gi", node["status"]!["capacity"]!["memory"]!.GetValue<string>());

            await _harness.PatchAsync("/api/v1/nodes/n1", """{"spec":{"taints":[{"key":"maintenance","effect":"NoSchedule"}]}}""");
            report = NodeReport("n1", "gateway");
            report.Status!.Capacity!["memory"] = Verge.Core.Quantities.Quantity.Parse("8Gi");
            await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/nodes/n1"))!["status"]!["capacity"]!["memory"]!.GetValue<string>() == "8Gi",
                "the changed report is written");
            node = (await _harness.GetAsync("/api/v1/nodes/n1"))!;
            Assert.Equal("gateway", node["metadata"]!["labels"]!["verge.dev/role"]!.GetValue<string>());
            Assert.Equal("maintenance", node["spec"]!["taints"]![0]!["key"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Failover_WhenTheFirstServerIsDown_ConnectsToTheSecond()
    {
        var dead = new Uri("https://127.0.0.1:" + FreePort());
        var state = new InMemoryDesiredState();
        await _harness.CreatePodAsync("a", "n1");

        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), state, servers: [dead, _harness.Host.Address]));
        await running.SyncedAsync();

        Assert.Equal(_harness.Host.Address, running.Client.Server);
        Assert.True(running.Client.Sessions >= 2);
        Assert.True(state.Holds(DesiredKind.Pod, "a"));
    }

    [Fact]
    public async Task DeadLink_IsNoticedByKeepAlivePings_AndTheClientMovesToTheNextServer()
    {
        await _harness.CreatePodAsync("a", "n1");
        await using var proxy = new BlackholeProxy(_harness.Host.Address);
        var state = new InMemoryDesiredState();
        var client = _harness.NewClient(_harness.Identity("n1"), state, servers: [proxy.Address, _harness.Host.Address]);
        var syncs = 0;
        client.Synced += () => Interlocked.Increment(ref syncs);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();
        Assert.Equal(proxy.Address, client.Server);

        proxy.Cut();
        await EventuallyAsync(() => Volatile.Read(ref syncs) >= 2 && client.Server == _harness.Host.Address, "the client reconnects through the other server");

        await _harness.CreatePodAsync("b", "n1");
        await EventuallyAsync(() => state.Holds(DesiredKind.Pod, "b"), "changes flow on the new session");
    }

    [Fact]
    public async Task Reconnect_ToTheSameServer_SendsTheDigestNotTheList_AndNotTheUnchangedNodeReport()
    {
        await _harness.CreatePodAsync("a", "n1");
        await _harness.CreatePodAsync("b", "n1");
        await using var proxy = new BlackholeProxy(_harness.Host.Address);
        var state = new InMemoryDesiredState();
        var report = NodeReport("n1", "edge");
        var client = _harness.NewClient(_harness.Identity("n1"), state, report: () => report, servers: [proxy.Address]);
        var syncs = 0;
        client.Synced += () => Interlocked.Increment(ref syncs);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();
        await EventuallyAsync(async () => await _harness.GetAsync("/api/v1/nodes/n1") is not null, "the node is created");
        Assert.False(client.HeldDigestSent);
        var applied = state.ChangesApplied;

        proxy.Reset();
        await EventuallyAsync(() => Volatile.Read(ref syncs) >= 2, "the client reconnects and catches up");

        Assert.True(client.HeldDigestSent);
        Assert.Equal(0, client.HeldListsSent);
        Assert.True(client.NodeReportSkipped);
        Assert.Equal(applied, state.ChangesApplied);

        // Nor is a report whose only change is its heartbeat time: the periodic refresh fell in the partition.
        var refreshed = NodeReport("n1", "edge");
        Assert.Single(refreshed.Status!.Conditions!).LastHeartbeatTime = DateTimeOffset.UtcNow;
        report = refreshed;
        proxy.Reset();
        await EventuallyAsync(() => Volatile.Read(ref syncs) >= 3, "the client reconnects again");
        Assert.True(client.NodeReportSkipped);

        // A report that changes later is still sent.
        report = NodeReport("n1", "gateway");
        await EventuallyAsync(
            async () => (await _harness.GetAsync("/api/v1/nodes/n1"))!["metadata"]!["labels"]!["verge.dev/role"]!.GetValue<string>() == "gateway",
            "the changed report is written");
    }

    [Fact]
    public async Task Reconnect_WhenTheHeldKeysDifferFromTheServersView_SendsTheListOnRequest_AndCatchesUp()
    {
        await _harness.CreatePodAsync("a", "n1");
        await _harness.CreatePodAsync("b", "n1");
        await using var proxy = new BlackholeProxy(_harness.Host.Address);
        var state = new InMemoryDesiredState();
        var client = _harness.NewClient(_harness.Identity("n1"), state, servers: [proxy.Address]);
        var syncs = 0;
        client.Synced += () => Interlocked.Increment(ref syncs);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();

        state.Forget(DesiredKind.Pod, "b");
        proxy.Reset();
        await EventuallyAsync(() => Volatile.Read(ref syncs) >= 2, "the client reconnects and catches up");

        Assert.True(client.HeldDigestSent);
        Assert.Equal(1, client.HeldListsSent);
        Assert.True(state.Holds(DesiredKind.Pod, "a"));
        Assert.True(state.Holds(DesiredKind.Pod, "b"));
    }

    [Fact]
    public async Task SyncBatch_WithChangesOfAKindOrTypeThisAgentDoesNotKnow_IsAppliedWithoutThem_AndTheSessionStays()
    {
        // A newer server may know kinds this agent does not (DataRules and Devices came after pods): a batch that
        // names one must not end the session, or the agent would reconnect, get the same batch and never sync.
        var pod = new ObjectChange
        {
            Kind = ObjectKind.Pod,
            Type = ChangeType.Upsert,
            Namespace = "default",
            Name = "a",
            Revision = 7,
            ObjectJson = ByteString.CopyFromUtf8("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"default"}}"""),
        };
        var unknownKind = new ObjectChange { Kind = (ObjectKind)99, Type = ChangeType.Upsert, Namespace = "default", Name = "future", Revision = 8, ObjectJson = ByteString.CopyFromUtf8("{}") };
        var unknownType = new ObjectChange { Kind = ObjectKind.ConfigMap, Type = (ChangeType)7, Namespace = "default", Name = "odd", Revision = 8, ObjectJson = ByteString.CopyFromUtf8("{}") };
        await using var server = await FakeChannelServer.StartAsync(_harness.ServingCertificateWithKey(),
        [
            new ServerMessage { Welcome = new Welcome { HeartbeatIntervalMs = 1000, Revision = 9 } },
            new ServerMessage { Sync = new SyncBatch { Revision = 9, Snapshot = true, Complete = true, Changes = { unknownKind, pod, unknownType } } },
        ]);
        var state = new InMemoryDesiredState();

        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), state, servers: [server.Address]));
        await running.SyncedAsync();

        Assert.Equal(["Pod/a"], state.Objects().Keys.Select(k => $"{k.Kind}/{k.Name}"));
        Assert.Equal(9, state.LastRevision);
        Assert.Equal(1, server.Connects);
        Assert.True(running.Client.Connected);
    }

    [Fact]
    public async Task Failover_AfterAServerEndedTheCall_DoesNotKeepItsConnectionOpen()
    {
        // The first server ends the call but keeps the connection: the agent moves on to the second and stays there.
        // The first connection must not stay open (with keep-alive pings every few seconds) for as long as it runs.
        await using var refusing = await FakeChannelServer.StartAsync(_harness.ServingCertificateWithKey(), [], refuse: 14);
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), servers: [refusing.Address, _harness.Host.Address]);

        await using var running = new RunningClient(client);
        await running.SyncedAsync();

        Assert.Equal(_harness.Host.Address, client.Server);
        Assert.True(refusing.Connects >= 1);
        await EventuallyAsync(() => refusing.OpenConnections == 0, "the connection to the server that ended the call is closed");
        Assert.Equal(1, client.Sessions - refusing.Connects);
    }

    [Fact]
    public async Task Metrics_CountTheNodesBytesInBothDirections()
    {
        await _harness.CreatePodAsync("a", "n1");
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState()));
        await running.SyncedAsync();

        string text = "";
        await EventuallyAsync(async () => (text = await _harness.Admin.GetStringAsync("/metrics")).Contains("verge_node_channel_sessions 1"), "one session is counted");
        var sent = Metric(text, """verge_node_channel_bytes_total{node="n1",direction="sent"}""");
        var received = Metric(text, """verge_node_channel_bytes_total{node="n1",direction="received"}""");
        output.WriteLine(text);
        Assert.True(sent > 0 && received > 0, text);
        // Both ends count the same wire: what the server sent is what the client received, give or take what is in flight.
        Assert.InRange(sent, running.Client.BytesReceived - 4096, running.Client.BytesReceived + 4096);

        using var anonymous = _harness.Client(_harness.Identity("n2").ClientCertificate);
        using var refused = await anonymous.GetAsync("/metrics");
        Assert.Equal(403, (int)refused.StatusCode);
    }

    private static long Metric(string text, string series) =>
        long.Parse(text.Split('\n').Single(l => l.StartsWith(series, StringComparison.Ordinal))[series.Length..].Trim());

}
