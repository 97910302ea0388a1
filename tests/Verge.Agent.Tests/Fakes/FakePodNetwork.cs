using System.Collections.Concurrent;
using Verge.Agent.Networking;

namespace Verge.Agent.Tests.Fakes;

/// <summary>A pod network that hands out 10.88.0.x addresses and remembers what it did.</summary>
internal sealed class FakePodNetwork : IPodNetwork
{
    private readonly ConcurrentDictionary<string, PodNetworkStatus> _pods = new();
    private int _next = 1;

    public ConcurrentQueue<string> TornDown { get; } = new();

    public string? FailWith { get; set; }

    public Task<(bool Available, string Detail)> CheckAsync(CancellationToken ct) => Task.FromResult((true, "fake"));

    public Task<PodNetworkStatus> SetUpAsync(PodNetworkRequest request, CancellationToken ct)
    {
        if (FailWith is { } message)
        {
            throw new InvalidOperationException(message);
        }

        return Task.FromResult(_pods.GetOrAdd(
            request.PodUid,
            uid => new PodNetworkStatus($"/var/run/netns/fake-{uid}", $"10.88.0.{Interlocked.Increment(ref _next)}")));
    }

    public IReadOnlyList<string> ListPods() => [.. _pods.Keys];

    public Task TearDownAsync(string podUid, CancellationToken ct)
    {
        _pods.TryRemove(podUid, out _);
        TornDown.Enqueue(podUid);
        return Task.CompletedTask;
    }
}
