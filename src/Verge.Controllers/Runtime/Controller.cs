using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Verge.Controllers.Runtime;

/// <summary>
/// A reconciler over one work queue: N workers take keys, <see cref="ReconcileAsync"/> brings the key's object
/// towards its desired state and returns when to look again (or null); a failure requeues the key with per-item
/// exponential backoff. A key is never reconciled by two workers at once.
/// </summary>
/// <remarks>
/// Controllers read from informers, which lag behind their own writes. Instead of client-go's expectations, a
/// controller records the store revision of each write it makes for a key (<see cref="RecordWrite"/>), and the next
/// reconcile of that key first waits until the informers have caught up with those revisions: read-your-writes on
/// revisions, so a reconcile never acts twice on a change it has already made.
/// </remarks>
internal abstract partial class Controller : IDisposable
{
    private readonly ConcurrentDictionary<string, List<(IInformer Informer, long Revision)>> _writes = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    protected Controller(string name, TimeProvider time, ILogger logger, ControllerOptions options)
    {
        Name = name;
        Time = time;
        Options = options;
        _logger = logger;
        Queue = new WorkQueue<string>(time, new ItemBackoff<string>(options.BaseBackoff, options.MaxBackoff), IsUrgent);
    }

    public string Name { get; }

    protected TimeProvider Time { get; }

    protected ControllerOptions Options { get; }

    internal WorkQueue<string> Queue { get; }

    /// <summary>The informers this controller reads; workers start once all have synced.</summary>
    protected abstract IEnumerable<IInformer> Informers { get; }

    protected abstract int Workers { get; }

    /// <summary>
    /// Whether a key goes ahead of the others in the queue, asked whenever it is queued; none does unless a controller
    /// says so. Runs on the threads that queue keys (informer handlers, timers): it must be cheap and thread-safe.
    /// </summary>
    protected virtual bool IsUrgent(string key) => false;

    /// <summary>Reconciles one key; returns a delay after which to reconcile it again, or null.</summary>
    protected abstract Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct);

    public async Task RunAsync(CancellationToken ct)
    {
        await Task.WhenAll(Informers.Select(i => i.Synced)).WaitAsync(ct);
        LogStarted(_logger, Name, Workers);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(() => WorkAsync(ct), ct)));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            Queue.ShutDown();
            LogStopped(_logger, Name);
        }
    }

    public void Enqueue(string key) => Queue.Add(key);

    /// <summary>Notes that a write for <paramref name="key"/> reached <paramref name="revision"/> of <paramref name="informer"/>'s kind.</summary>
    protected void RecordWrite(string key, IInformer informer, long revision)
    {
        if (revision <= 0)
        {
            return;
        }

        var list = _writes.GetOrAdd(key, _ => []);
        lock (list)
        {
            list.Add((informer, revision));
        }
    }

    protected void ForgetWrites(string key) => _writes.TryRemove(key, out _);

    public void Dispose()
    {
        Queue.Dispose();
        GC.SuppressFinalize(this);
    }

    private async Task WorkAsync(CancellationToken ct)
    {
        using var registration = ct.Register(Queue.ShutDown);
        while (true)
        {
            var (key, ok) = await Queue.GetAsync(ct);
            if (!ok)
            {
                return;
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(Options.ReconcileTimeout);
                await WaitForWritesAsync(key, timeout.Token);
                var requeueAfter = await ReconcileAsync(key, timeout.Token);
                Queue.Forget(key);
                if (requeueAfter is { } delay)
                {
                    Queue.AddAfter(key, delay);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogReconcileFailed(_logger, Name, key, Queue.NumRequeues(key), e.Message);
                Queue.AddRateLimited(key);
            }
            finally
            {
                Queue.Done(key);
            }
        }
    }

    private async Task WaitForWritesAsync(string key, CancellationToken ct)
    {
        if (!_writes.TryGetValue(key, out var list))
        {
            return;
        }

        (IInformer Informer, long Revision)[] pending;
        lock (list)
        {
            pending = [.. list];
        }

        foreach (var (informer, revision) in pending)
        {
            await informer.WaitForRevisionAsync(revision, ct);
        }

        lock (list)
        {
            list.RemoveAll(w => w.Informer.Revision >= w.Revision);
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Controller {Controller} started with {Workers} workers")]
    private static partial void LogStarted(ILogger logger, string controller, int workers);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Controller {Controller} stopped")]
    private static partial void LogStopped(ILogger logger, string controller);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Controller {Controller} failed to reconcile {Key} (retry {Retries}): {Reason}")]
    private static partial void LogReconcileFailed(ILogger logger, string controller, string key, int retries, string reason);
}
