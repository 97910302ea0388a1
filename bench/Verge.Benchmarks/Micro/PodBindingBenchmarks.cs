using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Verge.ApiServer.Registry;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Serialization;
using Verge.Store;

namespace Verge.Benchmarks.Micro;

/// <summary>
/// The server's work for one binding of a pending pod, without SQLite or watchers: as it is made now
/// (<see cref="PodBinder"/>, a storage-level write, as Kubernetes' binding) and through the full update path bindings
/// took before (defaults, validation of the whole pod against the stored one, the spec comparison for the
/// generation). Each call first puts the unbound pod back, the same work in both.
/// </summary>
[MemoryDiagnoser]
public class PodBindingBenchmarks
{
    private const string Name = "web-5d8f7c9b6d-x2k4p";
    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();
    private static readonly WriteOptions Options = new(false, "default-scheduler", FieldValidation.Ignore, false);

    private readonly string _key = ObjectCodec.Key(PodType, "default", Name);
    private byte[] _unbound = [];
    private InMemoryKeyValueStore _store = null!;
    private ResourceService _service = null!;
    private long _calls;

    [GlobalSetup]
    public void Setup()
    {
        var pod = JsonNode.Parse(SamplePod.Json)!.AsObject();
        pod["spec"]!.AsObject().Remove("nodeName");
        pod["status"] = new JsonObject { ["phase"] = "Pending" };
        pod["metadata"]!.AsObject().Remove("uid");
        pod["metadata"]!.AsObject().Remove("creationTimestamp");
        _store = new InMemoryKeyValueStore();
        _service = new ResourceService(_store, TimeProvider.System);

        // Created through the API's own path (the namespace first), so the stored pod is defaulted as a real one is.
        var ns = new Namespace { Metadata = new ObjectMeta { Name = "default" } };
        _service.CreateAsync(ResourceCatalog.For<Namespace>(), null, ns, Options, null, CancellationToken.None).GetAwaiter().GetResult();
        var decoded = ObjectCodec.Decode(PodType, Encoding.UTF8.GetBytes(pod.ToJsonString()), 0);
        decoded.Metadata.ResourceVersion = null;
        _service.CreateAsync(PodType, "default", decoded, Options, null, CancellationToken.None).GetAwaiter().GetResult();
        _unbound = _store.GetAsync(_key).AsTask().GetAwaiter().GetResult()!.Value.ToArray();
    }

    [Benchmark(Baseline = true)]
    public async Task<KubeObject> ThroughTheUpdatePath()
    {
        await UnbindAsync();
        return (await _service.UpdateFromStoredAsync(PodType, "default", Name, null, stored =>
        {
            var bound = (Pod)TypedMergePatch.TopLevelCopy(PodType, stored!)!;
            bound.Spec = (PodSpec)TypedMergePatch.ShallowCopy(((Pod)stored!).Spec, VergeJsonContext.Default.PodSpec);
            bound.Spec.NodeName = "edge-07";
            bound.Metadata.ResourceVersion = null;
            return bound;
        }, Options, allowCreate: false, CancellationToken.None)).Object;
    }

    [Benchmark]
    public async Task<KubeObject> AsAStorageWrite()
    {
        await UnbindAsync();
        return (await PodBinder.BindAsync(_service, "default", Name, "edge-07", null, dryRun: false, CancellationToken.None)).Object;
    }

    /// <summary>Puts the pending pod back (the in-memory store keeps every revision: compacted every 1,024 calls).</summary>
    private async Task UnbindAsync()
    {
        if ((++_calls & 1023) == 0)
        {
            await _store.CompactAsync(await _store.GetCurrentRevisionAsync());
        }

        var current = await _store.GetAsync(_key);
        await _store.UpdateAsync(_key, _unbound, current!.ModRevision);
    }
}
