using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Verge.Benchmarks.Cluster;

/// <summary>
/// Counts the control plane's log events by id (e.g. 4801, a node marked unreachable; 4803, a pod evicted), so that
/// the harness reports what the node lifecycle controller did during a run without watching for it.
/// </summary>
internal sealed class LogEventCounter : ILoggerProvider
{
    /// <summary>A node marked unreachable (NodeLifecycleController).</summary>
    public const int NodeUnreachable = 4801;

    /// <summary>A pod evicted by a NoExecute taint (NodeLifecycleController).</summary>
    public const int PodEvicted = 4803;

    /// <summary>A site changed disruption state (NodeLifecycleController).</summary>
    public const int SiteState = 4804;

    /// <summary>Every node of every site NotReady (NodeLifecycleController).</summary>
    public const int ControlPlaneDisrupted = 4805;

    private readonly ConcurrentDictionary<int, int> _counts = new();
    private readonly ConcurrentQueue<(long Timestamp, int EventId, string Message)> _timeline = new();
    private long _firstMark;
    private long _lastMark;

    /// <summary>When (<see cref="System.Diagnostics.Stopwatch"/> timestamps) the first and the last node was marked unreachable; 0 when none was.</summary>
    public (long First, long Last) Marks => (Interlocked.Read(ref _firstMark), Interlocked.Read(ref _lastMark));

    /// <summary>Each eviction, with its message, when it was logged.</summary>
    public IReadOnlyList<(long Timestamp, int EventId, string Message)> Evictions => [.. _timeline.Where(e => e.EventId == PodEvicted)];

    /// <summary>Each site state change, with its message, when it was logged.</summary>
    public IReadOnlyList<(long Timestamp, int EventId, string Message)> SiteChanges => [.. _timeline.Where(e => e.EventId == SiteState)];

    public int this[int eventId] => _counts.TryGetValue(eventId, out var n) ? n : 0;

    public void Reset()
    {
        _counts.Clear();
        _timeline.Clear();
        Interlocked.Exchange(ref _firstMark, 0);
        Interlocked.Exchange(ref _lastMark, 0);
    }

    public ILogger CreateLogger(string categoryName) => new Counter(this);

    public void Dispose()
    {
    }

    private sealed class Counter(LogEventCounter owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id is NodeUnreachable or PodEvicted or SiteState or ControlPlaneDisrupted)
            {
                owner._counts.AddOrUpdate(eventId.Id, 1, (_, n) => n + 1);
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                if (eventId.Id is PodEvicted or SiteState)
                {
                    owner._timeline.Enqueue((now, eventId.Id, formatter(state, exception)));
                }
                else if (eventId.Id == NodeUnreachable)
                {
                    Interlocked.CompareExchange(ref owner._firstMark, now, 0);
                    Interlocked.Exchange(ref owner._lastMark, now);
                }
            }
        }
    }
}
