namespace Verge.ApiServer;

/// <summary>
/// Limits of the API server's request flow control, API Priority and Fairness in miniature: how many ordinary
/// requests run at once and how many may wait. Node heartbeats (Leases in <c>kube-node-lease</c>, node status),
/// leader election Leases in <c>kube-system</c>, watches and non-resource paths are exempt and never wait.
/// </summary>
/// <remarks>
/// Kubernetes' defaults (--max-mutating-requests-inflight 200, --max-requests-inflight 400) are sized for data-centre
/// servers; Verge's scale with the cores, because on a CPU-bound server a request in flight beyond a few per core only
/// adds latency to the others, and waiting in a queue costs nothing.
/// </remarks>
public sealed class FlowControlOptions
{
    /// <summary>Whether requests are limited at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Creates, updates, patches and deletes running at once (default 8 per core, at least 16).</summary>
    public int MaxMutatingInFlight { get; set; } = Math.Max(16, 8 * Environment.ProcessorCount);

    /// <summary>Gets and lists running at once (default 16 per core, at least 32).</summary>
    public int MaxReadOnlyInFlight { get; set; } = Math.Max(32, 16 * Environment.ProcessorCount);

    /// <summary>Requests that may wait per kind of request; one more is answered 429 at once.</summary>
    public int QueueLength { get; set; } = 1000;

    /// <summary>How long a request may wait for its turn before it is answered 429 (Kubernetes: 15 s).</summary>
    public TimeSpan MaxQueueWait { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The Retry-After a rejected request is given, in whole seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    public void Validate()
    {
        if (MaxMutatingInFlight < 1 || MaxReadOnlyInFlight < 1)
        {
            throw new ArgumentException("FlowControl.MaxMutatingInFlight and MaxReadOnlyInFlight must be positive");
        }

        if (QueueLength < 0)
        {
            throw new ArgumentException("FlowControl.QueueLength must not be negative");
        }

        if (MaxQueueWait <= TimeSpan.Zero || RetryAfterSeconds < 1)
        {
            throw new ArgumentException("FlowControl.MaxQueueWait and RetryAfterSeconds must be positive");
        }
    }
}
