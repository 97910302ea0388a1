using Microsoft.Extensions.Logging.Abstractions;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.Runtime;

public class InformerTests
{
    private static ConfigMap NewConfigMap(string name, string? owner = null, bool controller = false, string ns = "default") => new()
    {
        Metadata = new ObjectMeta
        {
            Name = name,
            Namespace = ns,
            OwnerReferences = owner is null ? null : [new OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner, Controller = controller ? true : null }],
        },
    };

    [Fact]
    public async Task Claimable_ReturnsOwnedAndControllerlessObjectsOfTheNamespace_AndFollowsChanges()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        await cluster.CreateAsync(new Namespace { Metadata = new ObjectMeta { Name = "other" } });
        var informer = new Informer<ConfigMap>(ResourceCatalog.For<ConfigMap>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await cluster.CreateAsync(NewConfigMap("mine", owner: "me", controller: true));
        await cluster.CreateAsync(NewConfigMap("theirs", owner: "them", controller: true));
        await cluster.CreateAsync(NewConfigMap("orphan"));
        await cluster.CreateAsync(NewConfigMap("weak", owner: "me"));
        var last = Objects.RevisionOf(await cluster.CreateAsync(NewConfigMap("elsewhere", ns: "other")));
        await informer.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Equal(["mine", "orphan", "weak"], Names(informer.Claimable("default", "me")));
        Assert.Equal(["orphan", "theirs", "weak"], Names(informer.Claimable("default", "them")));
        Assert.Equal(["elsewhere"], Names(informer.Claimable("other", "me")));

        // Adopted by "them": no longer claimable by "me"; deleted: gone.
        await cluster.UpdateAsync<ConfigMap>("orphan", c => c.Metadata.OwnerReferences =
            [new OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = "them", Controller = true }]);
        last = Objects.RevisionOf((await cluster.Client.DeleteAsync(ResourceCatalog.For<ConfigMap>(), "default", "weak", null, null, CancellationToken.None))!);
        await informer.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Equal(["mine"], Names(informer.Claimable("default", "me")));
        Assert.Equal(["orphan", "theirs"], Names(informer.Claimable("default", "them")));

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Run_WhenAnUpdateKeepsOrChangesItsOwners_IndexesTheNewObjectAndTellsHandlersBothVersions()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var informer = new Informer<ConfigMap>(ResourceCatalog.For<ConfigMap>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
        var updates = new List<(string? Old, string? New)>();
        informer.AddHandler(new InformerHandler<ConfigMap>
        {
            OnUpdate = (old, updated) => { lock (updates) { updates.Add((old.Data?["v"], updated.Data?["v"])); } },
        });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        var created = NewConfigMap("cm", owner: "me", controller: true);
        created.Data = new() { ["v"] = "1" };
        await cluster.CreateAsync(created);

        // The same owners: the object is replaced where it is indexed.
        var last = Objects.RevisionOf(await cluster.UpdateAsync<ConfigMap>("cm", c => c.Data!["v"] = "2"));
        await informer.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Equal("2", informer.Get("default", "cm")!.Data!["v"]);
        Assert.Same(informer.Get("default", "cm"), Assert.Single(informer.OwnedBy("me")));
        Assert.Same(informer.Get("default", "cm"), Assert.Single(informer.Claimable("default", "me")));
        Assert.Empty(informer.Claimable("default", "them"));

        // Other owners, no controller: it moves to the new owner's entry and becomes claimable by anyone.
        last = Objects.RevisionOf(await cluster.UpdateAsync<ConfigMap>("cm", c =>
        {
            c.Data!["v"] = "3";
            c.Metadata.OwnerReferences = [new OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = "them" }];
        }));
        await informer.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Empty(informer.OwnedBy("me"));
        Assert.Equal("3", Assert.Single(informer.OwnedBy("them")).Data!["v"]);
        Assert.Equal(["cm"], Names(informer.Claimable("default", "me")));
        lock (updates)
        {
            Assert.Equal([("1", "2"), ("2", "3")], updates);
        }

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task ByIndex_FollowsTheIndexedFieldThroughCreateUpdateAndDelete_AndIndexesWhatWasListedBefore()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var informer = new Informer<ConfigMap>(ResourceCatalog.For<ConfigMap>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
        static string? Site(ConfigMap c) => c.Data?.GetValueOrDefault("site");
        informer.AddIndex("site", Site);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await cluster.CreateAsync(new ConfigMap { Metadata = new ObjectMeta { Name = "x", Namespace = "default" }, Data = new() { ["site"] = "north" } });
        await cluster.CreateAsync(new ConfigMap { Metadata = new ObjectMeta { Name = "y", Namespace = "default" }, Data = new() { ["site"] = "north" } });
        var last = Objects.RevisionOf(await cluster.CreateAsync(new ConfigMap { Metadata = new ObjectMeta { Name = "none", Namespace = "default" } }));
        await informer.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Equal(["x", "y"], Names(informer.ByIndex("site", "north")));
        Assert.Empty(informer.ByIndex("site", "south"));

        // y moves south, a change of the data alone (the owners stay): it must leave north's entry.
        await cluster.UpdateAsync<ConfigMap>("y", c => c.Data!["site"] = "south");
        last = Objects.RevisionOf((await cluster.Client.DeleteAsync(ResourceCatalog.For<ConfigMap>(), "default", "x", null, null, CancellationToken.None))!);
        await informer.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Empty(informer.ByIndex("site", "north"));
        Assert.Equal("south", Site(Assert.Single(informer.ByIndex("site", "south"))));

        // An index asked for later covers what the informer already holds; asking again under the same name keeps the first.
        informer.AddIndex("name", c => c.Metadata.Name);
        informer.AddIndex("site", c => "ignored");
        Assert.Equal(["none"], Names(informer.ByIndex("name", "none")));
        Assert.Equal(["y"], Names(informer.ByIndex("site", "south")));
        Assert.Throws<InvalidOperationException>(() => informer.ByIndex("missing", "x"));

        await stop.CancelAsync();
        await run;
    }

    private static List<string> Names(IEnumerable<ConfigMap> items) => [.. items.Select(c => c.Metadata.Name!).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Run_WhenTheWatcherOverflowsAndHistoryIsGone_ResyncsToTheStore()
    {
        // A ring of 8 events and a watcher buffer of 1: the informer falls behind, resubscribes, and relists.
        await using var cluster = await TestCluster.StartAsync(controllers: false, server: o => o.WatchCacheCapacity = 8);
        var informer = new Informer<ConfigMap>(ResourceCatalog.For<ConfigMap>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance, bufferSize: 1);
        var deleted = new List<string>();
        informer.AddHandler(new InformerHandler<ConfigMap> { OnDelete = c => { lock (deleted) { deleted.Add(c.Metadata.Name!); } } });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await cluster.CreateAsync(NewConfigMap("doomed"));
        await informer.Synced;

        long last = 0;
        for (var i = 0; i < 40; i++)
        {
            last = Objects.RevisionOf(await cluster.CreateAsync(NewConfigMap($"cm-{i}", owner: i % 2 == 0 ? "even" : null)));
        }

        last = Objects.RevisionOf((await cluster.Client.DeleteAsync(ResourceCatalog.For<ConfigMap>(), "default", "doomed", null, null, CancellationToken.None))!);
        await informer.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Equal(40, informer.List("default").Count(c => c.Metadata.Name!.StartsWith("cm-", StringComparison.Ordinal)));
        Assert.Null(informer.Get("default", "doomed"));
        Assert.Equal(20, informer.OwnedBy("even").Count);
        lock (deleted)
        {
            Assert.Equal(["doomed"], deleted);
        }

        await stop.CancelAsync();
        await run;
    }
}
