using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Runtime;

/// <summary>Event types, as Kubernetes spells them.</summary>
internal static class EventTypes
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";
}

/// <summary>
/// Writes core/v1 Events about objects, as client-go's legacy recorder does: one Event per distinct occurrence,
/// named <c>{object}.{hex unix nanoseconds}</c>; identical occurrences (same object, source, type, reason and
/// message) folded into the existing Event by raising its <c>count</c> and <c>lastTimestamp</c>; similar ones combined
/// and each object's writes budgeted by the <see cref="EventCorrelator"/>. So a controller that retries, or that acts on
/// thousands of objects at once, does not flood the namespace. Recording never fails the caller: errors are logged.
/// </summary>
internal sealed partial class EventRecorder(ApiClient client, TimeProvider time, string component, string instance, ILogger logger)
{
    private const int CacheSize = 4096;

    private readonly Lock _lock = new();
    private readonly LruCache<(string Namespace, string Name)> _written = new(CacheSize);
    private readonly EventCorrelator _correlator = new(time);
    private long _lastStamp;

    public string Component => component;

    public string Instance => instance;

    public async Task RecordAsync(KubeObject involved, string type, string reason, string message, CancellationToken ct)
    {
        var reference = Reference(involved);
        var ns = reference.Namespace ?? "default";
        var objectKey = string.Join('\u0000', component, reference.Kind, reference.Namespace, reference.Name, reference.Uid, reference.ApiVersion);
        var outcome = _correlator.Correlate(objectKey, type, reason, message);
        if (outcome.Skip)
        {
            LogOverBudget(logger, reason, reference.Kind ?? "", reference.Name ?? "", message);
            return;
        }

        var now = Objects.Now(time);
        try
        {
            if (Lookup(outcome.Key) is { } existing)
            {
                var updated = await client.MutateAsync<Event>(existing.Namespace, existing.Name, null, ev =>
                {
                    ev.Count = (ev.Count ?? 1) + 1;
                    ev.LastTimestamp = now;
                    ev.Message = outcome.Message;
                    return true;
                }, ct);
                if (updated is not null)
                {
                    return;
                }
            }

            var created = await client.CreateAsync(new Event
            {
                Metadata = new ObjectMeta { Name = $"{reference.Name}.{NextStamp():x}", Namespace = ns },
                InvolvedObject = reference,
                Reason = reason,
                Message = outcome.Message,
                Type = type,
                Source = new EventSource { Component = component },
                FirstTimestamp = now,
                LastTimestamp = now,
                Count = 1,
                ReportingComponent = component,
                ReportingInstance = instance,
            }, ct);
            Remember(outcome.Key, ns, created.Metadata.Name!);
        }
        catch (Exception e) when (e is ApiException or Store.StoreException or IOException)
        {
            LogRecordFailed(logger, reason, reference.Name ?? "", e.Message);
        }
    }

    public Task NormalAsync(KubeObject involved, string reason, string message, CancellationToken ct) =>
        RecordAsync(involved, EventTypes.Normal, reason, message, ct);

    public Task WarningAsync(KubeObject involved, string reason, string message, CancellationToken ct) =>
        RecordAsync(involved, EventTypes.Warning, reason, message, ct);

    private static ObjectReference Reference(KubeObject obj)
    {
        var type = ResourceCatalog.FindByType(obj.GetType());
        return new ObjectReference
        {
            Kind = type?.Kind ?? obj.Kind,
            ApiVersion = type?.ApiVersion ?? obj.ApiVersion,
            Namespace = obj.Metadata.Namespace,
            Name = obj.Metadata.Name,
            Uid = obj.Metadata.Uid,
            ResourceVersion = obj.Metadata.ResourceVersion,
        };
    }

    /// <summary>Unix nanoseconds, made unique within this recorder (names must not collide).</summary>
    private long NextStamp()
    {
        var stamp = (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        lock (_lock)
        {
            _lastStamp = Math.Max(stamp, _lastStamp + 1);
            return _lastStamp;
        }
    }

    private (string Namespace, string Name)? Lookup(string key)
    {
        lock (_lock)
        {
            return _written.TryGet(key, out var written) ? written : null;
        }
    }

    private void Remember(string key, string ns, string name)
    {
        lock (_lock)
        {
            _written.Set(key, (ns, name));
        }
    }

    [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Could not record event {Reason} about {Name}: {Error}")]
    private static partial void LogRecordFailed(ILogger logger, string reason, string name, string error);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Debug, Message = "Not recording event {Reason} about {Kind} {Name}, over its budget of events: {Message}")]
    private static partial void LogOverBudget(ILogger logger, string reason, string kind, string name, string message);
}
