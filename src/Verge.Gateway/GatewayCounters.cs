namespace Verge.Gateway;

/// <summary>What the gateway refused, dropped and passed on. Thread-safe; read from anywhere.</summary>
internal sealed class GatewayCounters
{
    private long _authRefused;
    private long _aclRefused;
    private long _oversized;
    private long _rateLimited;
    private long _published;
    private long _pipelineDropped;
    private long _ruleOutputs;
    private long _actionErrors;
    private long _upstreamSent;
    private long _upstreamErrors;
    private long _ingestAccepted;
    private long _ingestRefused;
    private long _notDurable;
    private long _httpNoTarget;

    /// <summary>Connections refused for unknown users or wrong credentials.</summary>
    public long AuthRefused => Volatile.Read(ref _authRefused);

    /// <summary>Publishes and subscriptions refused by topic ACLs.</summary>
    public long AclRefused => Volatile.Read(ref _aclRefused);

    /// <summary>Messages refused for exceeding MaxMessageBytes.</summary>
    public long Oversized => Volatile.Read(ref _oversized);

    /// <summary>Publishes delayed because their client was over its rate.</summary>
    public long RateLimited => Volatile.Read(ref _rateLimited);

    /// <summary>Publishes accepted from clients (MQTT and HTTP).</summary>
    public long Published => Volatile.Read(ref _published);

    /// <summary>Messages the rule pipeline could not take (stopped or full).</summary>
    public long PipelineDropped => Volatile.Read(ref _pipelineDropped);

    /// <summary>Rule outputs produced.</summary>
    public long RuleOutputs => Volatile.Read(ref _ruleOutputs);

    /// <summary>Rule actions that failed (HTTP errors, queue refusals).</summary>
    public long ActionErrors => Volatile.Read(ref _actionErrors);

    /// <summary>Messages acknowledged by the upstream destinations.</summary>
    public long UpstreamSent => Volatile.Read(ref _upstreamSent);

    /// <summary>Failed upstream sends (batches retried).</summary>
    public long UpstreamErrors => Volatile.Read(ref _upstreamErrors);

    public long IngestAccepted => Volatile.Read(ref _ingestAccepted);

    public long IngestRefused => Volatile.Read(ref _ingestRefused);

    /// <summary>QoS 1/2 publishes and ingest requests not acknowledged because their upstream outputs could not be stored.</summary>
    public long NotDurable => Volatile.Read(ref _notDurable);

    /// <summary>Rule outputs not posted because the HTTP action's pod selector found no Ready pod.</summary>
    public long HttpNoTarget => Volatile.Read(ref _httpNoTarget);

    internal void AddHttpNoTarget() => Interlocked.Increment(ref _httpNoTarget);

    internal void AddNotDurable() => Interlocked.Increment(ref _notDurable);

    internal void AddAuthRefused() => Interlocked.Increment(ref _authRefused);

    internal void AddAclRefused() => Interlocked.Increment(ref _aclRefused);

    internal void AddOversized() => Interlocked.Increment(ref _oversized);

    internal void AddRateLimited() => Interlocked.Increment(ref _rateLimited);

    internal void AddPublished() => Interlocked.Increment(ref _published);

    internal void AddPipelineDropped() => Interlocked.Increment(ref _pipelineDropped);

    internal void AddRuleOutputs(int n) => Interlocked.Add(ref _ruleOutputs, n);

    internal void AddActionError() => Interlocked.Increment(ref _actionErrors);

    internal void AddUpstreamSent(int n) => Interlocked.Add(ref _upstreamSent, n);

    internal void AddUpstreamError() => Interlocked.Increment(ref _upstreamErrors);

    internal void AddIngestAccepted() => Interlocked.Increment(ref _ingestAccepted);

    internal void AddIngestRefused() => Interlocked.Increment(ref _ingestRefused);
}
