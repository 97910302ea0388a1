using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Verge.ApiServer.Registry;
using Verge.Core.Core;
using Verge.Core.Serialization;

namespace Verge.Benchmarks.Micro;

/// <summary>
/// The per-object costs of serving reads: splicing the resourceVersion into stored bytes (every list item and watch
/// event) and typed deserialization of a stored Pod (every update, patch and controller decode).
/// </summary>
[MemoryDiagnoser]
public class ObjectCodecBenchmarks
{
    private byte[] _stored = [];
    private System.Text.Json.Serialization.Metadata.JsonTypeInfo _podType = null!;

    [GlobalSetup]
    public void Setup()
    {
        _stored = Encoding.UTF8.GetBytes(SamplePod.Json);
        _podType = VergeJson.Options.GetTypeInfo(typeof(Pod));

        // Every field of the sample must be one Pod knows, or the benchmark would time skipping, not decoding.
        _ = JsonSerializer.Deserialize(_stored, VergeJson.StrictOptions.GetTypeInfo(typeof(Pod)));
    }

    [Benchmark]
    public byte[] WithResourceVersion() => ObjectCodec.WithResourceVersion(_stored, 1_234_567);

    [Benchmark]
    public object? DeserializePod() => JsonSerializer.Deserialize(_stored, _podType);
}

/// <summary>A realistic stored pod (as the store keeps it: no resourceVersion), about 1.3 KB of JSON.</summary>
internal static class SamplePod
{
    public const string Json = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-5d8f7c9b6d-x2k4p","namespace":"default","uid":"3f1c8a52-6b1e-4d7e-9a0f-2c4b7e9d1a33","creationTimestamp":"2025-01-01T00:00:00Z","labels":{"app":"web","pod-template-hash":"5d8f7c9b6d","tier":"edge"},"annotations":{"verge.io/revision":"3"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5d8f7c9b6d","uid":"9b2e4c61-1f3a-4b8d-8e2c-7a5d3f1e0b44","controller":true,"blockOwnerDeletion":true}]},"spec":{"containers":[{"name":"web","image":"registry.local/web:1.4.2","ports":[{"containerPort":8080,"protocol":"TCP"}],"env":[{"name":"MODE","value":"edge"},{"name":"LOG_LEVEL","value":"info"}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"256Mi"}},"imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"nodeName":"edge-07","schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2025-01-01T00:00:05Z"}],"hostIP":"10.0.0.7","podIP":"10.42.0.19","startTime":"2025-01-01T00:00:01Z"}}
        """;
}
