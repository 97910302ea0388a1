namespace Verge.Controllers.Runtime;

/// <summary>Jitter for retry loops, so that replicas restarted together do not retry in step.</summary>
internal static class Backoff
{
    /// <summary><paramref name="period"/> plus up to <paramref name="factor"/> times itself at random (client-go's <c>wait.Jitter</c>).</summary>
    public static TimeSpan Jittered(TimeSpan period, double factor) =>
        period + TimeSpan.FromTicks((long)(period.Ticks * factor * Random.Shared.NextDouble()));
}
