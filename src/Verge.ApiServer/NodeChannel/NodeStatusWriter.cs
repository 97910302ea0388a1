using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.ApiServer.Registry;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.Core.Serialization;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// Writes what agents report into the API through the registry: their Node (created when missing), their Lease
/// (renewed at most once per heartbeat interval), their pods' status (only pods bound to the node, with the uid the
/// agent named; compare-and-swap, retried on conflict, no-op writes skipped by the registry) and their events.
/// A node may write only about itself: anything else is refused and logged.
/// </summary>
internal sealed partial class NodeStatusWriter(
    ResourceService service,
    NodeChannelOptions options,
    TimeProvider time,
    ILogger<NodeStatusWriter> logger)
{
    private const string FieldManager = "verge-node-channel";

    private static readonly ResourceType NodeType = ResourceCatalog.For<Node>();
    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();
    private static readonly ResourceType LeaseType = ResourceCatalog.For<Lease>();
    private static readonly ResourceType EventType = ResourceCatalog.For<Event>();

    private readonly WriteOptions _write = new(false, FieldManager, FieldValidation.Ignore, false);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastRenewal = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _reportHashes = new(StringComparer.Ordinal);

    /// <summary>Lease writes done (for tests and metrics).</summary>
    public long LeaseWrites => Interlocked.Read(ref _leaseWrites);

    private long _leaseWrites;

    /// <summary>Renews the node's Lease unless it was renewed less than about a heartbeat interval ago.</summary>
    public async Task HeartbeatAsync(string node, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_lastRenewal.TryGetValue(node, out var last) && now - last < options.HeartbeatInterval * 0.9)
        {
            return;
        }

        _lastRenewal[node] = now;
        var duration = (int)Math.Ceiling(options.LeaseDuration.TotalSeconds);
        await service.UpdateAsync(LeaseType, options.LeaseNamespace, node, null, current =>
        {
            var lease = current as Lease ?? new Lease
            {
                Metadata = new ObjectMeta { Name = node, Namespace = options.LeaseNamespace },
                Spec = new LeaseSpec { AcquireTime = now },
            };
            if (lease.Spec.HolderIdentity != node)
            {
                lease.Spec.AcquireTime = now;
                lease.Spec.LeaseTransitions = lease.Spec.HolderIdentity is null ? lease.Spec.LeaseTransitions : (lease.Spec.LeaseTransitions ?? 0) + 1;
            }

            lease.Spec.HolderIdentity = node;
            lease.Spec.LeaseDurationSeconds = duration;
            lease.Spec.RenewTime = now;
            lease.Metadata.ResourceVersion = null;
            return lease;
        }, _write, allowCreate: true, ct);
        Interlocked.Increment(ref _leaseWrites);
    }

    /// <summary>
    /// Whether the last report this server wrote for <paramref name="node"/> had the digest <paramref name="hash"/>
    /// (<see cref="NodeReportDigest"/>: its content, not its heartbeat times) and the Node still exists: the agent then need not send it again after a reconnect. Known only for reports
    /// received by this server process.
    /// </summary>
    public async Task<bool> HasReportAsync(string node, ReadOnlyMemory<byte> hash, CancellationToken ct)
    {
        if (hash.IsEmpty || !_reportHashes.TryGetValue(node, out var last) || !hash.Span.SequenceEqual(last))
        {
            return false;
        }

        return await service.GetRawAsync(NodeType, null, node, ct) is not null;
    }

    /// <summary>Creates the node's Node, or updates its labels, annotations and status from the report.</summary>
    public async Task ReportNodeAsync(string node, NodeReport report, CancellationToken ct)
    {
        // Forgotten first: a report that fails to be written is not one the server holds.
        _reportHashes.TryRemove(node, out _);
        Node reported;
        try
        {
            reported = JsonSerializer.Deserialize(report.NodeJson.Span, VergeJsonContext.Default.Node)
                ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            LogRefused(logger, node, "NodeReport", "it is not a Node as JSON: " + e.Message);
            return;
        }

        if (reported.Metadata.Name is { Length: > 0 } name && name != node)
        {
            LogRefused(logger, node, "NodeReport", $"it names node {name}");
            return;
        }

        var digest = NodeReportDigest.Compute(reported);

        var (_, created) = await service.UpdateAsync(NodeType, null, node, null, current =>
        {
            if (current is not Node existing)
            {
                reported.Metadata = new ObjectMeta
                {
                    Name = node,
                    Labels = reported.Metadata.Labels,
                    Annotations = reported.Metadata.Annotations,
                };
                return reported;
            }

            existing.Metadata.Labels = Merge(existing.Metadata.Labels, reported.Metadata.Labels);
            existing.Metadata.Annotations = Merge(existing.Metadata.Annotations, reported.Metadata.Annotations);
            existing.Metadata.ResourceVersion = null;
            return existing;
        }, _write, allowCreate: true, ct);
        if (created)
        {
            // A new Node is written whole, status included.
            _reportHashes[node] = digest;
            return;
        }

        await service.UpdateAsync(NodeType, null, node, "status", current =>
        {
            var existing = (Node)current!;
            var status = existing.Status ??= new NodeStatus();
            var from = reported.Status ?? new NodeStatus();
            status.Capacity = from.Capacity ?? status.Capacity;
            status.Allocatable = from.Allocatable ?? status.Allocatable;
            status.NodeInfo = from.NodeInfo ?? status.NodeInfo;
            status.Addresses = from.Addresses ?? status.Addresses;
            status.Conditions = from.Conditions ?? status.Conditions;
            status.DaemonEndpoints = from.DaemonEndpoints ?? status.DaemonEndpoints;
            status.Images = from.Images ?? status.Images;
            existing.Metadata.ResourceVersion = null;
            return existing;
        }, _write, allowCreate: false, ct);
        _reportHashes[node] = digest;
    }

    private static Dictionary<string, string>? Merge(Dictionary<string, string>? existing, Dictionary<string, string>? reported)
    {
        if (reported is null || reported.Count == 0)
        {
            return existing;
        }

        var result = existing is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(existing, StringComparer.Ordinal);
        foreach (var (k, v) in reported)
        {
            result[k] = v;
        }

        return result;
    }

    /// <summary>
    /// Writes each pod's status, for pods bound to <paramref name="node"/> with the uid the agent named; then removes
    /// the pods the agent says it has terminated (<see cref="PodStatusUpdate.Terminated"/>).
    /// </summary>
    public async Task WritePodStatusesAsync(string node, PodStatusBatch batch, CancellationToken ct)
    {
        foreach (var update in batch.Updates)
        {
            PodStatus? status = null;
            if (!update.StatusJson.IsEmpty || !update.Terminated)
            {
                try
                {
                    status = JsonSerializer.Deserialize(update.StatusJson.Span, VergeJsonContext.Default.PodStatus)
                        ?? throw new JsonException("null");
                }
                catch (JsonException e)
                {
                    LogRefused(logger, node, $"status of pod {update.Namespace}/{update.Name}", "it is not a PodStatus as JSON: " + e.Message);
                    continue;
                }
            }

            if (status is not null)
            {
                await WritePodStatusAsync(node, update, status, ct);
            }

            // Removed even when its last status could not be written: a pod its node no longer runs must not stay.
            if (update.Terminated)
            {
                await RemoveTerminatedPodAsync(node, update, ct);
            }
        }
    }

    private async Task WritePodStatusAsync(string node, PodStatusUpdate update, PodStatus status, CancellationToken ct)
    {
        try
        {
            await service.UpdateAsync(PodType, update.Namespace, update.Name, "status", current =>
            {
                var pod = (Pod)current!;
                if (pod.Spec.NodeName != node)
                {
                    throw ApiException.Forbidden(NodeUser(node), "update", PodType, update.Namespace, update.Name);
                }

                if (pod.Metadata.Uid != update.Uid)
                {
                    throw ApiException.Conflict(PodType, update.Name, $"the pod's uid is {pod.Metadata.Uid}, not {update.Uid}");
                }

                pod.Status = KeepConditionsOfOthers(status, pod.Status);
                pod.Metadata.ResourceVersion = null;
                return pod;
            }, _write, allowCreate: false, ct);
        }
        catch (ApiException e)
        {
            LogRefused(logger, node, $"status of pod {update.Namespace}/{update.Name}", e.Message);
        }
    }

    /// <summary>The pod conditions a node reports; the others belong to whoever set them (kubelet's PodConditionByKubelet).</summary>
    private static readonly HashSet<string> NodeConditions = new(StringComparer.Ordinal)
    {
        "PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers",
    };

    /// <summary>
    /// The reported status with the stored conditions the node does not own and did not report kept, as the kubelet
    /// carries them over: a <c>DisruptionTarget</c> set by an eviction, or a condition a controller sets for a
    /// readiness gate, survives the node's next report.
    /// </summary>
    private static PodStatus KeepConditionsOfOthers(PodStatus reported, PodStatus? stored)
    {
        foreach (var condition in stored?.Conditions ?? [])
        {
            if (!NodeConditions.Contains(condition.Type) && reported.Conditions?.Exists(c => c.Type == condition.Type) != true)
            {
                (reported.Conditions ??= []).Add(condition);
            }
        }

        return reported;
    }

    /// <summary>
    /// Ends the graceful deletion of a pod its node has terminated: removes it (grace period 0, the uid as a
    /// precondition), if it is bound to the node and being deleted. A pod already gone, or re-created under the same
    /// name, is left alone: the agent confirms again after a restart or a lost acknowledgement.
    /// </summary>
    private async Task RemoveTerminatedPodAsync(string node, PodStatusUpdate update, CancellationToken ct)
    {
        try
        {
            var (stored, _) = await service.GetAsync(PodType, update.Namespace, update.Name, ct);
            if (stored is not Pod pod || pod.Metadata.Uid != update.Uid)
            {
                return;
            }

            if (pod.Spec.NodeName != node)
            {
                throw ApiException.Forbidden(NodeUser(node), "delete", PodType, update.Namespace, update.Name);
            }

            if (pod.Metadata.DeletionTimestamp is null)
            {
                LogRefused(logger, node, $"removal of pod {update.Namespace}/{update.Name}", "the pod is not being deleted");
                return;
            }

            await service.DeleteAsync(PodType, update.Namespace, update.Name, new DeleteOptions
            {
                GracePeriodSeconds = 0,
                Preconditions = new Preconditions { Uid = update.Uid },
            }, ct);
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            // Gone already, or a new pod of the same name.
        }
        catch (ApiException e)
        {
            LogRefused(logger, node, $"removal of pod {update.Namespace}/{update.Name}", e.Message);
        }
    }

    /// <summary>Creates the events; an event must be in the namespace of the object it is about.</summary>
    public async Task CreateEventsAsync(string node, EventBatch batch, CancellationToken ct)
    {
        foreach (var json in batch.EventsJson)
        {
            Event recorded;
            try
            {
                recorded = JsonSerializer.Deserialize(json.Span, VergeJsonContext.Default.Event) ?? throw new JsonException("null");
            }
            catch (JsonException e)
            {
                LogRefused(logger, node, "event", "it is not an Event as JSON: " + e.Message);
                continue;
            }

            var ns = recorded.Metadata.Namespace;
            if (string.IsNullOrEmpty(ns) || (recorded.InvolvedObject.Namespace is { Length: > 0 } involved && involved != ns))
            {
                LogRefused(logger, node, "event", $"its namespace \"{ns}\" is not the namespace of the object it is about");
                continue;
            }

            if (string.IsNullOrEmpty(recorded.Metadata.Name) && string.IsNullOrEmpty(recorded.Metadata.GenerateName))
            {
                recorded.Metadata.GenerateName = (recorded.InvolvedObject.Name ?? node) + ".";
            }

            recorded.Source ??= new EventSource { Component = "verge-agent", Host = node };
            try
            {
                await service.CreateAsync(EventType, ns, recorded, _write, null, ct);
            }
            catch (ApiException e)
            {
                LogRefused(logger, node, "event", e.Message);
            }
        }
    }

    private static string NodeUser(string node) => "system:node:" + node;

    [LoggerMessage(EventId = 3110, Level = LogLevel.Warning, Message = "Node {Node}: refused {What}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string node, string what, string reason);
}
