using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Verge.ApiServer.Registry;
using Verge.Core.Coordination;
using Verge.Core.Meta;
using Verge.Store;

namespace Verge.Benchmarks.Micro;

/// <summary>
/// The server's work for one node lease renewal without HTTP, SQLite or watchers: the stored Lease decoded and
/// encoded, the merge patch set on a copy with its managedFields entry moved on, and the whole read-modify-write in
/// <see cref="ResourceService"/> over the in-memory store, as PATCH does it for a hollow node's renewal.
/// </summary>
[MemoryDiagnoser]
public class LeaseRenewalBenchmarks
{
    private static readonly ResourceType LeaseType = ResourceCatalog.For<Lease>();
    private static readonly WriteOptions Options = new(false, "verge", FieldValidation.Ignore, false);
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly byte[] _stored = Encoding.UTF8.GetBytes(SampleLease.Json);
    private KubeObject _lease = null!;
    private InMemoryKeyValueStore _store = null!;
    private ResourceService _service = null!;
    private long _tick;

    [GlobalSetup]
    public void Setup()
    {
        _lease = ObjectCodec.Decode(LeaseType, _stored, 7);
        _store = new InMemoryKeyValueStore();
        _service = new ResourceService(_store, TimeProvider.System);
        _store.CreateAsync(ObjectCodec.Key(LeaseType, SampleLease.Namespace, SampleLease.Name), _stored).AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public KubeObject DecodeStored() => ObjectCodec.Decode(LeaseType, _stored, 7);

    [Benchmark]
    public byte[] Encode() => ObjectCodec.Encode(LeaseType, _lease);

    /// <summary>The typed merge patch and the managedFields fast path on an already decoded Lease (left as it was).</summary>
    [Benchmark]
    public KubeObject PatchAndRecord()
    {
        var patch = Renewal(Start.AddSeconds(++_tick));
        var copy = TypedMergePatch.TryPlan(LeaseType, _lease, patch, true, out _)!.ApplyToCopy();
        copy.Metadata.ResourceVersion = null;
        return Patcher.RecordManager(LeaseType, _lease, copy, "verge", "Update", Start, null);
    }

    /// <summary>
    /// The read-modify-write: read, one decode, the patch, validation, encode and the store's write (the in-memory
    /// store keeps every revision, so it is compacted every 1,024 writes).
    /// </summary>
    [Benchmark]
    public async Task<KubeObject> Update()
    {
        var patch = Renewal(Start.AddSeconds(++_tick));
        if ((_tick & 1023) == 0)
        {
            await _store.CompactAsync(await _store.GetCurrentRevisionAsync());
        }

        return (await _service.UpdateFromStoredAsync(LeaseType, SampleLease.Namespace, SampleLease.Name, null, stored =>
        {
            var copy = TypedMergePatch.TryPlan(LeaseType, stored!, patch, true, out _)!.ApplyToCopy();
            copy.Metadata.ResourceVersion = null;
            return Patcher.RecordManager(LeaseType, stored, copy, "verge", "Update", Start, null);
        }, Options, allowCreate: false, CancellationToken.None)).Object;
    }

    private static JsonNode Renewal(DateTimeOffset now) => JsonNode.Parse(
        "{\"spec\":{\"holderIdentity\":\"hollow-0001\",\"leaseDurationSeconds\":4,\"renewTime\":\"" + Verge.Core.Serialization.RfcTime.FormatMicros(now) + "\"}}")!;
}

/// <summary>A hollow node's Lease as the store keeps it (no resourceVersion): about 850 bytes, half of it managedFields.</summary>
internal static class SampleLease
{
    public const string Name = "hollow-0001";

    public const string Namespace = "kube-node-lease";

    public const string Json = """
        {"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"hollow-0001","namespace":"kube-node-lease","uid":"158f1847-0fb8-45a7-87fd-0cd90a03dfc4","creationTimestamp":"2026-03-01T09:21:10Z","ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"hollow-0001","uid":"ff146a13-5909-4647-9540-8d3a125a0d70"}],"managedFields":[{"manager":"verge","operation":"Update","apiVersion":"coordination.k8s.io/v1","time":"2026-03-01T09:23:19Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:ownerReferences":{"k:{\u0022uid\u0022:\u0022ff146a13-5909-4647-9540-8d3a125a0d70\u0022}":{".":{},"f:apiVersion":{},"f:kind":{},"f:name":{},"f:uid":{}}}},"f:spec":{"f:holderIdentity":{},"f:leaseDurationSeconds":{},"f:renewTime":{}}}}]},"spec":{"holderIdentity":"hollow-0001","leaseDurationSeconds":4,"renewTime":"2026-03-01T09:23:19.760969Z"}}
        """;
}
