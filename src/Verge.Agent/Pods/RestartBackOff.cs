namespace Verge.Agent.Pods;

/// <summary>
/// Kubernetes' restart back-off for one container: the first restart is immediate, later ones wait 10 s, 20 s, 40 s
/// ... up to 5 minutes; a container that ran for 10 minutes before it exited starts over. The same rule spaces image
/// pull retries (ImagePullBackOff).
/// </summary>
/// <param name="Delay">The wait before the next restart; zero while no back-off is in force.</param>
/// <param name="LastRestart">When the container was last (re)started under this back-off.</param>
internal sealed record BackOffState(TimeSpan Delay, DateTimeOffset? LastRestart)
{
    public static readonly TimeSpan Initial = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Max = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan ResetAfter = TimeSpan.FromMinutes(10);

    public static BackOffState None { get; } = new(TimeSpan.Zero, null);

    /// <summary>When the next restart may happen; null means now.</summary>
    public DateTimeOffset? Due => Delay > TimeSpan.Zero && LastRestart is { } last ? last + Delay : null;

    /// <summary>The state after a container that ran from <paramref name="startedAt"/> to <paramref name="finishedAt"/> exited.</summary>
    public BackOffState AfterRun(DateTimeOffset? startedAt, DateTimeOffset? finishedAt) =>
        startedAt is { } s && finishedAt is { } f && f - s >= ResetAfter ? None : this;

    /// <summary>The state once a restart happens at <paramref name="now"/>.</summary>
    public BackOffState Restarted(DateTimeOffset now)
    {
        var next = Delay <= TimeSpan.Zero ? Initial : Delay * 2;
        return new BackOffState(next > Max ? Max : next, now);
    }

    /// <summary>"10s", "1m20s", "5m0s", the way Go prints a duration in kubelet's messages.</summary>
    public static string Format(TimeSpan delay)
    {
        var seconds = (long)delay.TotalSeconds;
        return seconds < 60 ? $"{seconds}s" : $"{seconds / 60}m{seconds % 60}s";
    }
}
