using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Security;

namespace Verge.ApiServer.Http;

/// <summary>The lane a request runs in.</summary>
internal enum FlowLevel
{
    /// <summary>Never limited: node heartbeats, leader election, watches, discovery and health.</summary>
    Exempt,

    /// <summary>Gets and lists.</summary>
    ReadOnly,

    /// <summary>Creates, updates, patches and deletes.</summary>
    Mutating,
}

/// <summary>
/// API Priority and Fairness in miniature. Requests that keep nodes alive (Lease renewals in
/// <c>kube-node-lease</c>, node status writes) and leader election Leases run at once, whatever else is going on, so
/// that a busy control plane never mistakes healthy nodes for dead ones. Other requests run under a concurrency limit
/// per level (read-only, mutating); beyond it they wait in per-user queues served round-robin, so one busy client
/// cannot starve another. A full queue, or a wait longer than <see cref="FlowControlOptions.MaxQueueWait"/>, is a 429
/// with Retry-After, as in Kubernetes.
/// </summary>
internal sealed partial class FlowControl
{
    /// <summary>The namespace of node heartbeat Leases.</summary>
    internal const string NodeLeaseNamespace = Verge.Core.Coordination.Lease.NodeLeaseNamespace;

    private readonly FlowControlOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Level _readOnly;
    private readonly Level _mutating;

    public FlowControl(ApiServerOptions options, TimeProvider time, ILogger<FlowControl> logger)
    {
        _options = options.FlowControl;
        _options.Validate();
        _time = time;
        _logger = logger;
        _readOnly = new Level("read-only", _options.MaxReadOnlyInFlight, _options.QueueLength);
        _mutating = new Level("mutating", _options.MaxMutatingInFlight, _options.QueueLength);
    }

    /// <summary>Requests running and waiting at the level (for tests and diagnostics).</summary>
    internal (int InFlight, int Queued) Load(FlowLevel level) => LevelOf(level) is { } l ? l.Load : (0, 0);

    /// <summary>
    /// Waits for the request's turn and returns its seat, to be disposed when the request is done; throws a 429
    /// <see cref="ApiException"/> when the request cannot get one.
    /// </summary>
    public ValueTask<Seat> EnterAsync(HttpContext context, string[] segments) =>
        EnterAsync(Classify(context.Request.Method, segments, context.Request.Query["watch"].ToString()), Authentication.UserOf(context)?.Name ?? "", context.RequestAborted);

    internal async ValueTask<Seat> EnterAsync(FlowLevel level, string flow, CancellationToken ct)
    {
        if (!_options.Enabled || LevelOf(level) is not { } l)
        {
            return default;
        }

        var waiter = l.TryEnter(flow);
        if (waiter is null)
        {
            return new Seat(l);
        }

        if (waiter == Level.Rejected)
        {
            LogRejected(_logger, l.Name, flow, "its queue is full");
            throw TooManyRequests();
        }

        try
        {
            await waiter.Task.WaitAsync(_options.MaxQueueWait, _time, ct);
            return new Seat(l);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            if (!l.Abandon(waiter))
            {
                // Granted in the same instant: the seat is ours and must be given back.
                l.Release();
            }

            if (e is OperationCanceledException)
            {
                throw;
            }

            LogRejected(_logger, l.Name, flow, "it waited too long");
            throw TooManyRequests();
        }
    }

    /// <summary>Which lane a request runs in, from its method, path and watch parameter.</summary>
    internal static FlowLevel Classify(string method, string path, string watch) =>
        Classify(method, path.Split('/', StringSplitOptions.RemoveEmptyEntries), watch);

    /// <summary>As <see cref="Classify(string, string, string)"/>, from the path's non-empty segments.</summary>
    internal static FlowLevel Classify(string method, string[] segments, string watch)
    {
        var read = method is "GET" or "HEAD";
        switch (segments)
        {
            case ["api", _, "nodes", _, "status"] when !read:
                return FlowLevel.Exempt;
            case ["apis", "coordination.k8s.io", _, "namespaces", NodeLeaseNamespace or "kube-system", "leases", ..]:
                return FlowLevel.Exempt;
            case ["api", _, "namespaces", _, "pods", _, "exec" or "log"]:
                // Long-running, as Kubernetes counts them: a stream would hold a seat for as long as it lasts.
                return FlowLevel.Exempt;
            case ["api", _, _, ..]:
            case ["apis", _, _, _, ..]:
                break;
            default:
                return FlowLevel.Exempt;
        }

        if (read && watch is "true" or "1")
        {
            return FlowLevel.Exempt;
        }

        return read ? FlowLevel.ReadOnly : FlowLevel.Mutating;
    }

    private ApiException TooManyRequests() =>
        new(429, "TooManyRequests", "Too many requests, please try again later.", new Core.Meta.StatusDetails { RetryAfterSeconds = _options.RetryAfterSeconds });

    private Level? LevelOf(FlowLevel level) => level switch
    {
        FlowLevel.ReadOnly => _readOnly,
        FlowLevel.Mutating => _mutating,
        _ => null,
    };

    [LoggerMessage(EventId = 3130, Level = LogLevel.Debug, Message = "Rejected a {Level} request of {Flow} with 429: {Why}")]
    private static partial void LogRejected(ILogger logger, string level, string flow, string why);

    /// <summary>A request's place in its level; disposing it lets the next waiting request run.</summary>
    internal readonly struct Seat : IDisposable
    {
        private readonly Level? _level;

        internal Seat(Level level) => _level = level;

        public void Dispose() => _level?.Release();
    }

    /// <summary>One priority level: a concurrency limit and a bounded set of per-flow FIFO queues served round-robin.</summary>
    internal sealed class Level(string name, int limit, int queueLength)
    {
        /// <summary>The answer of <see cref="TryEnter"/> when the queue is full.</summary>
        public static readonly Waiter Rejected = new("");

        private readonly object _lock = new();
        private readonly Dictionary<string, Queue<Waiter>> _queues = new(StringComparer.Ordinal);
        private readonly Queue<string> _turns = new();
        private int _inFlight;
        private int _queued;

        public string Name => name;

        public (int InFlight, int Queued) Load
        {
            get
            {
                lock (_lock)
                {
                    return (_inFlight, _queued);
                }
            }
        }

        /// <summary>Null when the request may run now, <see cref="Rejected"/> when it may not wait, else its place in line.</summary>
        public Waiter? TryEnter(string flow)
        {
            lock (_lock)
            {
                if (_inFlight < limit && _queued == 0)
                {
                    _inFlight++;
                    return null;
                }

                if (_queued >= queueLength)
                {
                    return Rejected;
                }

                var waiter = new Waiter(flow);
                if (!_queues.TryGetValue(flow, out var queue))
                {
                    _queues[flow] = queue = new Queue<Waiter>();
                    _turns.Enqueue(flow);
                }

                queue.Enqueue(waiter);
                _queued++;
                return waiter;
            }
        }

        /// <summary>Takes a waiter out of line; false when it had been granted a seat already.</summary>
        public bool Abandon(Waiter waiter)
        {
            lock (_lock)
            {
                if (waiter.Granted)
                {
                    return false;
                }

                if (!waiter.Abandoned)
                {
                    waiter.Abandoned = true;
                    _queued--;
                }

                return true;
            }
        }

        public void Release()
        {
            Waiter? next;
            lock (_lock)
            {
                _inFlight--;
                next = NextWaiter();
                if (next is not null)
                {
                    next.Granted = true;
                    _inFlight++;
                }
            }

            next?.Grant();
        }

        /// <summary>The first live waiter of the flow whose turn it is; that flow goes to the back of the line.</summary>
        private Waiter? NextWaiter()
        {
            while (_turns.TryDequeue(out var flow))
            {
                var queue = _queues[flow];
                Waiter? found = null;
                while (found is null && queue.TryDequeue(out var candidate))
                {
                    if (!candidate.Abandoned)
                    {
                        found = candidate;
                    }
                }

                if (queue.Count > 0)
                {
                    _turns.Enqueue(flow);
                }
                else
                {
                    _queues.Remove(flow);
                }

                if (found is not null)
                {
                    _queued--;
                    return found;
                }
            }

            return null;
        }
    }

    /// <summary>A request waiting for a seat.</summary>
    internal sealed class Waiter(string flow)
    {
        private readonly TaskCompletionSource _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Flow => flow;

        public Task Task => _granted.Task;

        /// <summary>Set under the level's lock when the waiter got a seat.</summary>
        public bool Granted { get; set; }

        /// <summary>Set under the level's lock when the waiter gave up.</summary>
        public bool Abandoned { get; set; }

        public void Grant() => _granted.TrySetResult();
    }
}
