using System.Buffers.Binary;
using CsCheck;

namespace Verge.Store.Tests.Conformance;

public abstract partial class KeyValueStoreConformanceTests
{
    [Fact]
    public async Task ConcurrentCompareAndSwapIncrements_WithRetry_CountExactly()
    {
        const int Tasks = 16;
        const int Increments = 25;
        var store = await OpenAsync();
        await store.CreateAsync("/counter", BitConverter.GetBytes(0L));
        int conflicts = 0;

        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < Increments; i++)
            {
                var current = (await store.GetAsync("/counter"))!;
                while (true)
                {
                    long value = BinaryPrimitives.ReadInt64LittleEndian(current.Value.Span);
                    try
                    {
                        await store.UpdateAsync("/counter", BitConverter.GetBytes(value + 1), current.ModRevision);
                        break;
                    }
                    catch (RevisionConflictException conflict)
                    {
                        Interlocked.Increment(ref conflicts);
                        current = conflict.Current;
                    }
                }
            }
        })));

        var final = (await store.GetAsync("/counter"))!;
        Assert.Equal(Tasks * Increments, BinaryPrimitives.ReadInt64LittleEndian(final.Value.Span));
        Assert.Equal(1 + (Tasks * Increments), final.ModRevision);
    }

    [Fact]
    public async Task ConcurrentCreates_OfDistinctKeys_AllSucceedWithDistinctRevisions()
    {
        const int Tasks = 32;
        const int PerTask = 20;
        var store = await OpenAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            var created = new List<KeyValue>();
            for (int i = 0; i < PerTask; i++)
            {
                created.Add(await store.CreateAsync($"/c/{t:D2}/{i:D2}", Bytes("x")));
            }

            return created;
        })));

        var revisions = results.SelectMany(r => r.Select(kv => kv.ModRevision)).Order().ToList();
        Assert.Equal(Enumerable.Range(1, Tasks * PerTask).Select(i => (long)i), revisions);
        Assert.All(results, perTask => Assert.True(perTask.Zip(perTask.Skip(1)).All(p => p.First.ModRevision < p.Second.ModRevision)));
        Assert.Equal(Tasks * PerTask, await store.CountAsync("/c/"));
    }

    [Fact]
    public async Task ConcurrentCreates_OfOneKey_ExactlyOneSucceeds()
    {
        var store = await OpenAsync();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                await store.CreateAsync("/only", Bytes(i.ToString()));
                return true;
            }
            catch (KeyExistsException)
            {
                return false;
            }
        })));

        Assert.Single(outcomes, won => won);
        Assert.Equal(1, await store.GetCurrentRevisionAsync());
    }

    private static readonly string[] ModelKeys = ["/p/a", "/p/b", "/p/c", "/q/a"];

    private sealed record Operation(int Kind, int KeyIndex, byte[] Value, int RevisionChoice, int Limit)
    {
        public string Key => ModelKeys[KeyIndex];

        public override string ToString() =>
            $"{Kind switch { 0 => "create", 1 => "update", 2 => "delete", 3 => "get", _ => "list" }} {Key} " +
            $"[{string.Join(',', Value)}] rev#{RevisionChoice} limit {Limit}";
    }

    private static readonly Gen<Operation[]> Operations = Gen.Select(
            Gen.Int[0, 4], Gen.Int[0, ModelKeys.Length - 1], Gen.Byte.Array[0, 3], Gen.Int[0, 2], Gen.Int[0, 3],
            (kind, key, value, revision, limit) => new Operation(kind, key, value, revision, limit))
        .Array[1, 30];

    [Fact]
    public async Task RandomOperations_MatchASimpleModel()
    {
        int run = 0;
        await Operations.SampleAsync(
            async operations =>
            {
                var store = await OpenAsync($"model-{Interlocked.Increment(ref run)}");
                try
                {
                    await RunAgainstModelAsync(store, operations);
                }
                finally
                {
                    await store.DisposeAsync();
                }
            },
            iter: 40,
            threads: 1);
    }

    private static async Task RunAgainstModelAsync(IKeyValueStore store, Operation[] operations)
    {
        var model = new SortedDictionary<string, KeyValue>(KeyOrder.Comparer);
        long revision = 0;
        foreach (var op in operations)
        {
            model.TryGetValue(op.Key, out var current);

            // 0: the right revision, 1: a wrong one, 2: zero (only meaningful for delete).
            long expected = op.RevisionChoice switch
            {
                0 => current?.ModRevision ?? revision + 7,
                1 => (current?.ModRevision ?? 0) + 1000,
                _ => 0,
            };
            switch (op.Kind)
            {
                case 0 when current is not null:
                    await Assert.ThrowsAsync<KeyExistsException>(async () => await store.CreateAsync(op.Key, op.Value));
                    break;
                case 0:
                    var created = await store.CreateAsync(op.Key, op.Value);
                    model[op.Key] = new KeyValue(op.Key, op.Value, ++revision, revision);
                    Assert.Equal(model[op.Key], created, KeyValueComparer.Instance);
                    break;
                case 1 when current is null:
                    await Assert.ThrowsAsync<KeyNotFoundStoreException>(async () => await store.UpdateAsync(op.Key, op.Value, expected));
                    break;
                case 1 when current.ModRevision != expected:
                    var conflict = await Assert.ThrowsAsync<RevisionConflictException>(
                        async () => await store.UpdateAsync(op.Key, op.Value, expected));
                    Assert.Equal(current, conflict.Current, KeyValueComparer.Instance);
                    break;
                case 1:
                    var updated = await store.UpdateAsync(op.Key, op.Value, expected);
                    model[op.Key] = new KeyValue(op.Key, op.Value, current.CreateRevision, ++revision);
                    Assert.Equal(model[op.Key], updated, KeyValueComparer.Instance);
                    break;
                case 2 when current is null:
                    await Assert.ThrowsAsync<KeyNotFoundStoreException>(async () => await store.DeleteAsync(op.Key, expected));
                    break;
                case 2 when expected != 0 && current.ModRevision != expected:
                    await Assert.ThrowsAsync<RevisionConflictException>(async () => await store.DeleteAsync(op.Key, expected));
                    break;
                case 2:
                    var deleted = await store.DeleteAsync(op.Key, expected);
                    model.Remove(op.Key);
                    Assert.Equal(current with { ModRevision = ++revision }, deleted, KeyValueComparer.Instance);
                    break;
                case 3:
                    Assert.Equal(current, await store.GetAsync(op.Key), KeyValueComparer.Instance);
                    break;
                default:
                    var prefix = op.Key[..3];
                    var page = await store.ListAsync(prefix, 0, op.Limit);
                    var all = model.Values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
                    var want = op.Limit == 0 ? all : all.Take(op.Limit).ToList();
                    Assert.Equal(want, page.Items, KeyValueComparer.Instance);
                    Assert.Equal(all.Count > want.Count, page.HasMore);
                    Assert.Equal(revision, page.Revision);
                    break;
            }

            Assert.Equal(revision, await store.GetCurrentRevisionAsync());
        }
    }
}
