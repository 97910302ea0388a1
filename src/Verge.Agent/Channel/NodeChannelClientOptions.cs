namespace Verge.Agent.Channel;

/// <summary>Settings of the agent's end of the node channel.</summary>
public sealed class NodeChannelClientOptions
{
    /// <summary>The control plane's endpoints (https); the client moves to the next one when a session fails.</summary>
    public IReadOnlyList<Uri> Servers { get; init; } = [];

    /// <summary>The first reconnect delay bound; each failure doubles it up to <see cref="MaxBackoff"/> (full jitter).</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(0.5);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often coalesced pod statuses and events are sent while connected: at most once per interval, and a pod
    /// status that arrives after a quiet interval goes at once.
    /// </summary>
    public TimeSpan StatusFlushInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the node report is compared with the last one sent (and sent again when it changed).</summary>
    public TimeSpan ReportCheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP/2 keep-alive pings: an idle link is probed after this long...</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>...and declared dead when a ping gets no answer within this long.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A session that lasted at least this long resets the reconnect backoff.</summary>
    public TimeSpan StableSession { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Events kept for sending while disconnected; beyond it the oldest are dropped.</summary>
    public int MaxPendingEvents { get; init; } = 1000;

    public void Validate()
    {
        if (Servers.Count == 0)
        {
            throw new ArgumentException("the node channel needs at least one server address (--server)");
        }

        foreach (var server in Servers)
        {
            if (!server.IsAbsoluteUri || server.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException($"server address \"{server}\" must be an absolute https URL");
            }
        }

        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            throw new ArgumentException("InitialBackoff must be positive and no longer than MaxBackoff");
        }

        if (StatusFlushInterval <= TimeSpan.Zero || ReportCheckInterval <= TimeSpan.Zero
            || KeepAlivePingDelay <= TimeSpan.Zero || KeepAlivePingTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("node channel intervals must be positive");
        }

        if (MaxPendingEvents < 1)
        {
            throw new ArgumentException("MaxPendingEvents must be positive");
        }
    }
}
