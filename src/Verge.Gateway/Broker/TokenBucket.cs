namespace Verge.Gateway.Broker;

/// <summary>A token bucket: <c>rate</c> tokens per second up to <c>burst</c>. Thread-safe.</summary>
internal sealed class TokenBucket(double rate, int burst, TimeProvider time)
{
    private readonly Lock _gate = new();
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    /// <summary>Takes one token; returns zero if one was available, else how long until one will be (the token is reserved).</summary>
    public TimeSpan Take()
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + (time.GetElapsedTime(_last, now).TotalSeconds * rate));
            _last = now;
            _tokens -= 1;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / rate);
        }
    }
}
