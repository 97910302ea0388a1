using System.Threading.Channels;
using Verge.Controllers.Runtime;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.Support;

/// <summary>
/// A test's view of one kind, built on the production informer: waits for states by re-checking after every
/// change it sees (never by sleeping), and lets a test observe every intermediate state in revision order.
/// </summary>
internal sealed class Tracker<T> : IAsyncDisposable
    where T : KubeObject
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _changed = Channel.CreateUnbounded<bool>();
    private readonly Task _run;

    public Tracker(Informer<T> informer)
    {
        Informer = informer;
        informer.AddHandler(new InformerHandler<T>
        {
            OnAdd = o => Changed(),
            OnUpdate = (_, _) => Changed(),
            OnDelete = _ => Changed(),
        });
        _run = informer.RunAsync(_stop.Token);
    }

    public Informer<T> Informer { get; }

    public Task Synced => Informer.Synced;

    /// <summary>Called after every change with the informer's index as it is at that revision.</summary>
    public Action<Informer<T>>? Observe { get; set; }

    public IReadOnlyList<T> List(string ns = "default") => Informer.List(ns);

    /// <summary>Waits until the object exists and satisfies <paramref name="predicate"/>; returns it.</summary>
    public async Task<T> WaitForAsync(string name, Func<T, bool> predicate, string what, string ns = "default")
    {
        T? found = null;
        await WaitUntilAsync(() => (found = Informer.Get(ns, name)) is { } obj && predicate(obj), what);
        return found!;
    }

    /// <summary>Waits until <paramref name="predicate"/> holds over the index.</summary>
    public Task WaitUntilAsync(Func<bool> predicate, string what) => WaitUntilAsync(predicate, () => what);

    /// <summary>Waits until <paramref name="predicate"/> holds; <paramref name="what"/> describes the failure.</summary>
    public async Task WaitUntilAsync(Func<bool> predicate, Func<string> what)
    {
        using var timeout = new CancellationTokenSource(TestCluster.WaitLimit);
        while (!predicate())
        {
            try
            {
                await _changed.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"gave up waiting for {what()}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private void Changed()
    {
        Observe?.Invoke(Informer);
        _changed.Writer.TryWrite(true);
    }
}
