using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.Core.Coordination;

namespace Verge.Controllers.Runtime;

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it: a candidate
/// takes the lease when it is free or when its holder has not renewed it for <c>leaseDuration</c> as measured on
/// the candidate's own clock (from when it last saw the lease change, so clock skew between replicas does not
/// matter); the leader renews every <c>retryPeriod</c> and stops leading when it has not managed to renew for
/// <c>renewDeadline</c>, which is shorter than the lease, so two leaders never overlap. Every write is a
/// compare-and-swap on the lease's resourceVersion.
/// </summary>
internal sealed partial class LeaderElector(ApiClient client, LeaderElectionOptions options, TimeProvider time, ILogger logger)
{
    private Lease? _observed;
    private DateTimeOffset _observedAt;
    private volatile bool _leading;

    public string Identity => options.Identity;

    public bool IsLeader => _leading;

    /// <summary>Called after every acquire or renew attempt with its outcome, once the next wait has started (for tests).</summary>
    public Action<bool>? Attempted { get; set; }

    /// <summary>
    /// Campaigns until leader, then runs <paramref name="lead"/> with a token that is cancelled when leadership is
    /// lost; returns when leadership ends or <paramref name="ct"/> is cancelled (then releasing the lease).
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken ct)
    {
        if (!await AcquireAsync(ct))
        {
            return;
        }

        _leading = true;
        LogAcquired(logger, options.LeaseNamespace, options.LeaseName, Identity);
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var leader = Task.Run(() => lead(leading.Token), CancellationToken.None);
        try
        {
            await RenewAsync(leader, ct);
        }
        finally
        {
            _leading = false;
            await leading.CancelAsync();
            try
            {
                await leader;
            }
            catch (OperationCanceledException)
            {
            }

            LogLost(logger, options.LeaseName, Identity);
            if (ct.IsCancellationRequested && options.ReleaseOnCancel)
            {
                await ReleaseAsync();
            }
        }
    }

    private async Task<bool> AcquireAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var acquired = await TryAcquireOrRenewAsync(ct);
            if (acquired)
            {
                return true;
            }

            var wait = Task.Delay(Backoff.Jittered(options.RetryPeriod, 1.2), time, ct);
            Attempted?.Invoke(false);
            try
            {
                await wait;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    private async Task RenewAsync(Task leader, CancellationToken ct)
    {
        var lastRenew = time.GetUtcNow();
        var renewed = true;
        while (true)
        {
            var wait = Task.Delay(options.RetryPeriod, time, ct);
            Attempted?.Invoke(renewed);
            await Task.WhenAny(wait, leader);
            if (leader.IsCompleted || ct.IsCancellationRequested)
            {
                return;
            }

            try
            {
                renewed = await TryAcquireOrRenewAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }

            if (renewed)
            {
                lastRenew = time.GetUtcNow();
            }
            else if (_observed?.Spec.HolderIdentity is { Length: > 0 } holder && holder != Identity)
            {
                // Someone else holds the lease now: stop at once.
                return;
            }
            else if (time.GetUtcNow() - lastRenew >= options.RenewDeadline)
            {
                return;
            }
        }
    }

    /// <summary>One attempt: create the lease, take it over when expired or free, or renew it when ours.</summary>
    internal async Task<bool> TryAcquireOrRenewAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        try
        {
            var lease = await client.GetAsync<Lease>(options.LeaseNamespace, options.LeaseName, ct);
            if (lease is null)
            {
                var fresh = new Lease
                {
                    Metadata = { Name = options.LeaseName, Namespace = options.LeaseNamespace },
                    Spec = new LeaseSpec
                    {
                        HolderIdentity = Identity,
                        LeaseDurationSeconds = (int)options.LeaseDuration.TotalSeconds,
                        AcquireTime = now,
                        RenewTime = now,
                        LeaseTransitions = 0,
                    },
                };
                Observe(await client.CreateAsync(fresh, ct), now);
                return true;
            }

            if (_observed is null || _observed.Metadata.ResourceVersion != lease.Metadata.ResourceVersion)
            {
                Observe(lease, now);
            }

            var holder = lease.Spec.HolderIdentity;
            var duration = TimeSpan.FromSeconds(lease.Spec.LeaseDurationSeconds ?? (int)options.LeaseDuration.TotalSeconds);
            if (!string.IsNullOrEmpty(holder) && holder != Identity && _observedAt + duration > now)
            {
                return false;
            }

            var spec = lease.Spec;
            if (holder != Identity)
            {
                spec.AcquireTime = now;
                spec.LeaseTransitions = (spec.LeaseTransitions ?? 0) + (string.IsNullOrEmpty(holder) ? 0 : 1);
                spec.HolderIdentity = Identity;
            }

            spec.LeaseDurationSeconds = (int)options.LeaseDuration.TotalSeconds;
            spec.RenewTime = now;
            Observe(await client.UpdateAsync(lease, ct), now);
            return true;
        }
        catch (ApiException e) when (e.Code is 409 or 404)
        {
            // Another candidate wrote first; look again next round.
            return false;
        }
        catch (Exception e) when (e is ApiException or Store.StoreException or IOException)
        {
            LogAttemptFailed(logger, options.LeaseName, e.Message);
            return false;
        }
    }

    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(options.RenewDeadline);
            await client.MutateAsync<Lease>(options.LeaseNamespace, options.LeaseName, null, lease =>
            {
                if (lease.Spec.HolderIdentity != Identity)
                {
                    return false;
                }

                // As client-go releases: no holder, and a lease that expires in a second.
                lease.Spec.HolderIdentity = null;
                lease.Spec.LeaseDurationSeconds = 1;
                lease.Spec.RenewTime = time.GetUtcNow();
                return true;
            }, timeout.Token);
        }
        catch (Exception e) when (e is ApiException or Store.StoreException or IOException or OperationCanceledException)
        {
            LogAttemptFailed(logger, options.LeaseName, e.Message);
        }
    }

    private void Observe(Lease lease, DateTimeOffset now)
    {
        _observed = lease;
        _observedAt = now;
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Acquired lease {Namespace}/{Lease} as {Identity}")]
    private static partial void LogAcquired(ILogger logger, string @namespace, string lease, string identity);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Stopped leading on lease {Lease} as {Identity}")]
    private static partial void LogLost(ILogger logger, string lease, string identity);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "Leader election on lease {Lease} failed an attempt: {Reason}")]
    private static partial void LogAttemptFailed(ILogger logger, string lease, string reason);
}
