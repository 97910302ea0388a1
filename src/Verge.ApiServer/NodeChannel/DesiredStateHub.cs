using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.NodeChannel.Protocol;
using Verge.Store;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// The one place that knows what every node should hold. It follows pods, ConfigMaps, Secrets, DataRules, Devices
/// and Nodes through the watch cache with a single watcher (one ordered stream, so its revision means every change
/// up to it is reflected), keeps pods by node, the ConfigMaps and Secrets each node's pods use, the DataRules whose
/// selector matches each node's labels, the Devices assigned to each node and the Secrets those Devices name in
/// spec.credentialsSecret (so the gateway can authenticate its devices offline), and sends each connected session the
/// difference between what the node should hold and what it holds. A change reaches only the sessions it concerns.
/// </summary>
internal sealed partial class DesiredStateHub(
    ResourceService service,
    WatchCache cache,
    ILogger<DesiredStateHub> logger) : BackgroundService
{
    /// <summary>The label that names a node's Site (DataRules with spec.site run on that site's nodes only).</summary>
    public const string SiteLabel = "verge.dev/site";

    private const int ListPageSize = 500;
    private const int WatchBuffer = 100_000;

    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();
    private static readonly ResourceType ConfigMapType = ResourceCatalog.For<ConfigMap>();
    private static readonly ResourceType SecretType = ResourceCatalog.For<Secret>();
    private static readonly ResourceType DataRuleType = ResourceCatalog.For<DataRule>();
    private static readonly ResourceType DeviceType = ResourceCatalog.For<Device>();
    private static readonly ResourceType NodeType = ResourceCatalog.For<Node>();
    private static readonly ResourceType[] Followed = [PodType, ConfigMapType, SecretType, DataRuleType, DeviceType, NodeType];

    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(long Revision, TaskCompletionSource Done)> _revisionWaiters = [];

    private readonly Dictionary<ChannelKey, PodEntry> _pods = [];
    private readonly Dictionary<string, HashSet<ChannelKey>> _podsByNode = new(StringComparer.Ordinal);
    private readonly Dictionary<ChannelKey, HubObject> _configs = [];
    private readonly Dictionary<ChannelKey, Dictionary<string, int>> _configUsers = [];
    private readonly Dictionary<ChannelKey, RuleEntry> _rules = [];
    private readonly Dictionary<ChannelKey, DeviceEntry> _devices = [];
    private readonly Dictionary<string, HashSet<ChannelKey>> _devicesByNode = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _nodeLabels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeSession> _sessions = new(StringComparer.Ordinal);
    private long _revision;

    /// <summary>The pod entry the event being applied replaces (set by Unindex, read by Index).</summary>
    private PodEntry? _pendingPod;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _fingerprintBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _fingerprintWriter;

    /// <summary>Completes once the initial list is indexed.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The newest revision the hub reflects.</summary>
    public long Revision => Interlocked.Read(ref _revision);

    public int SessionCount
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    public NodeSession? SessionOf(string nodeName)
    {
        lock (_lock)
        {
            return _sessions.GetValueOrDefault(nodeName);
        }
    }

    /// <summary>Waits until the hub reflects <paramref name="revision"/>; false when it did not within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForRevisionAsync(long revision, TimeSpan timeout, CancellationToken ct)
    {
        Task wait;
        lock (_lock)
        {
            if (_revision >= revision)
            {
                return true;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _revisionWaiters.Add((revision, done));
            wait = done.Task;
        }

        try
        {
            await wait.WaitAsync(timeout, ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Registers <paramref name="session"/> (replacing an older session of the node) and queues Welcome and the
    /// catch-up: every object of the node's set modified after <paramref name="lastRevision"/> or not in
    /// <paramref name="held"/>, and deletes of held objects no longer in the set. With lastRevision 0 the catch-up
    /// is a snapshot. Later changes queue behind it, so nothing between the two is lost.
    /// </summary>
    /// <remarks>
    /// With <paramref name="heldDigest"/> (Hello.held_sha256) instead of a list, the agent holds the node's present
    /// set when the digests match; when they do not, nothing is registered or queued and false is returned: the
    /// caller asks the agent for its list and attaches again with it.
    /// </remarks>
    public bool Attach(NodeSession session, long lastRevision, IEnumerable<ChannelKey> held, long heartbeatIntervalMs, byte[]? heldDigest = null, bool nodeReportCurrent = false)
    {
        lock (_lock)
        {
            var desired = DesiredFor(session.NodeName);
            HashSet<ChannelKey> heldSet;
            if (heldDigest is not null)
            {
                var ours = HeldKeyDigest.Compute(desired.Keys.Select(k => ((int)k.Kind, k.Namespace, k.Name)));
                if (!ours.AsSpan().SequenceEqual(heldDigest))
                {
                    return false;
                }

                heldSet = [.. desired.Keys];
            }
            else
            {
                heldSet = held.ToHashSet();
            }

            if (_sessions.TryGetValue(session.NodeName, out var old))
            {
                old.Close("replaced by a newer session of the same node");
                LogReplaced(logger, session.NodeName);
            }

            _sessions[session.NodeName] = session;
            FingerprintPodsOf(session.NodeName);
            var snapshot = lastRevision == 0;
            var changes = new List<ObjectChange>();
            foreach (var (key, obj) in desired)
            {
                if (snapshot || obj.Revision > lastRevision || !heldSet.Contains(key))
                {
                    changes.Add(NodeSession.Upsert(obj));
                }
            }

            if (!snapshot)
            {
                foreach (var key in heldSet)
                {
                    if (!desired.ContainsKey(key))
                    {
                        changes.Add(NodeSession.Delete(key, _revision));
                    }
                }
            }

            session.Known = desired.ToDictionary(p => p.Key, p => p.Value.Revision);
            session.Send(new ServerMessage
            {
                Welcome = new Welcome
                {
                    HeartbeatIntervalMs = heartbeatIntervalMs,
                    Revision = _revision,
                    NodeReportCurrent = nodeReportCurrent,
                    AcceptsHeldDigest = true,
                    AcksReports = true,
                },
            });
            session.SendChanges(changes, lastRevision, Math.Max(_revision, lastRevision), snapshot);
            LogAttached(logger, session.NodeName, lastRevision, _revision, changes.Count);
            return true;
        }
    }

    public void Detach(NodeSession session)
    {
        lock (_lock)
        {
            if (_sessions.TryGetValue(session.NodeName, out var current) && current == session)
            {
                _sessions.Remove(session.NodeName);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await cache.Ready.WaitAsync(stoppingToken);
        var relist = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (relist)
                {
                    await ListAsync(stoppingToken);
                    relist = false;
                }

                using var watcher = cache.Subscribe(Followed, WatchFilter.All, Revision, WatchBuffer, allowBookmarks: true);
                await foreach (var (_, e, revision) in watcher.Events.ReadAllAsync(stoppingToken))
                {
                    if (e is null)
                    {
                        Advance(revision);
                    }
                    else if (revision > Revision)
                    {
                        Apply(e);
                    }
                }

                LogResubscribe(logger, Revision);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RevisionCompactedException)
            {
                relist = true;
            }
            catch (Exception e) when (e is StoreException or Http.ApiException or IOException)
            {
                LogFailed(logger, e);
                relist = true;
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    /// <summary>Lists every followed kind at one revision and rebuilds the index; connected sessions get the difference.</summary>
    private async Task ListAsync(CancellationToken ct)
    {
        long revision = 0;
        var items = new List<(ResourceType Type, KeyValue Stored)>();
        foreach (var type in Followed)
        {
            string? startAfter = null;
            while (true)
            {
                var page = await service.Store.ListAsync(ObjectCodec.Prefix(type, null), revision, ListPageSize, startAfter, ct);
                revision = page.Revision;
                items.AddRange(page.Items.Select(kv => (type, kv)));
                if (!page.HasMore || page.Items.Count == 0)
                {
                    break;
                }

                startAfter = page.Items[^1].Key;
            }
        }

        lock (_lock)
        {
            _pods.Clear();
            _podsByNode.Clear();
            _configs.Clear();
            _configUsers.Clear();
            _rules.Clear();
            _devices.Clear();
            _devicesByNode.Clear();
            _nodeLabels.Clear();
            _pendingPod = null;
            foreach (var (type, kv) in items)
            {
                var parsed = WatchCache.ParseKey(kv.Key);
                if (parsed is null)
                {
                    continue;
                }

                var json = ObjectCodec.WithResourceVersion(kv.Value.Span, kv.ModRevision);
                Index(type, parsed.Value.Namespace ?? "", parsed.Value.Name, kv.ModRevision, json, ObjectCodec.Decode(type, kv.Value.Span, kv.ModRevision));
            }

            SetRevision(revision);
            foreach (var session in _sessions.Values)
            {
                Refresh(session, revision);
            }
        }

        _ready.TrySetResult();
    }

    private void Advance(long revision)
    {
        lock (_lock)
        {
            SetRevision(revision);
        }
    }

    private void SetRevision(long revision)
    {
        if (revision <= _revision)
        {
            return;
        }

        Interlocked.Exchange(ref _revision, revision);
        for (var i = _revisionWaiters.Count - 1; i >= 0; i--)
        {
            if (_revisionWaiters[i].Revision <= revision)
            {
                _revisionWaiters[i].Done.TrySetResult();
                _revisionWaiters.RemoveAt(i);
            }
        }
    }

    private void Apply(CachedEvent e)
    {
        lock (_lock)
        {
            var ns = e.Namespace ?? "";
            var affected = new HashSet<string>(StringComparer.Ordinal);
            var deleted = e.Kind == WatchEventType.Deleted;
            if (e.Type == NodeType)
            {
                if (deleted)
                {
                    _nodeLabels.Remove(e.Name);
                }
                else
                {
                    _nodeLabels[e.Name] = e.Current.Metadata.Labels ?? [];
                }

                affected.Add(e.Name);
            }
            else
            {
                var key = KeyOf(e.Type, ns, e.Name);
                affected.UnionWith(Unindex(e.Type, key));
                if (!deleted)
                {
                    affected.UnionWith(Index(e.Type, ns, e.Name, e.Revision, e.CurrentJson, e.Current));
                }
            }

            SetRevision(e.Revision);
            foreach (var node in affected)
            {
                if (_sessions.TryGetValue(node, out var session))
                {
                    Refresh(session, e.Revision);
                }
            }
        }
    }

    private static ChannelKey KeyOf(ResourceType type, string ns, string name) => new(KindOf(type), ns, name);

    private static ObjectKind KindOf(ResourceType type) =>
        type == PodType ? ObjectKind.Pod
        : type == ConfigMapType ? ObjectKind.ConfigMap
        : type == SecretType ? ObjectKind.Secret
        : type == DataRuleType ? ObjectKind.DataRule
        : type == DeviceType ? ObjectKind.Device
        : ObjectKind.Unspecified;

    /// <summary>Adds an object to the index; returns the nodes whose set it may change.</summary>
    private List<string> Index(ResourceType type, string ns, string name, long revision, ReadOnlyMemory<byte> json, KubeObject obj)
    {
        if (type == NodeType)
        {
            _nodeLabels[name] = obj.Metadata.Labels ?? [];
            return [name];
        }

        var key = KeyOf(type, ns, name);
        var hubObject = new HubObject(key, revision, json);
        switch (obj)
        {
            case Pod pod:
                var node = pod.Spec.NodeName;
                var refs = PodReferences.Of(pod);
                // Only a node with a session has a revision to keep: a pod of a node without one (a node away, or one
                // without an agent) takes its fingerprint when the node connects (FingerprintPodsOf).
                UInt128? fingerprint = !string.IsNullOrEmpty(node) && _sessions.ContainsKey(node) ? DesiredFingerprint(pod) : null;
                if (fingerprint is not null && _pendingPod is { } previous && previous.Object.Key == key && previous.Fingerprint == fingerprint)
                {
                    // Only the status changed (most often the node's own report): the node already has everything
                    // it acts on, so the pod keeps the revision the node knows and nothing is sent.
                    hubObject = hubObject with { Revision = previous.Object.Revision };
                }

                _pods[key] = new PodEntry(hubObject, node, refs, fingerprint);
                if (string.IsNullOrEmpty(node))
                {
                    return [];
                }

                Bucket(_podsByNode, node).Add(key);
                AddUsers(refs, node);
                return [node];
            case ConfigMap or Secret:
                _configs[key] = hubObject;
                return _configUsers.TryGetValue(key, out var configUsers) ? [.. configUsers.Keys] : [];
            case DataRule rule:
                var entry = new RuleEntry(hubObject, rule.Spec.NodeSelector, rule.Spec.Site);
                _rules[key] = entry;
                return _sessions.Keys.Where(n => entry.Matches(_nodeLabels.GetValueOrDefault(n))).ToList();
            case Device device:
                var deviceNode = device.Spec.NodeName;
                ChannelKey[] deviceRefs = string.IsNullOrEmpty(device.Spec.CredentialsSecret) ? [] : [new ChannelKey(ObjectKind.Secret, ns, device.Spec.CredentialsSecret)];
                _devices[key] = new DeviceEntry(hubObject, deviceNode, deviceRefs);
                if (string.IsNullOrEmpty(deviceNode))
                {
                    return [];
                }

                Bucket(_devicesByNode, deviceNode).Add(key);
                AddUsers(deviceRefs, deviceNode);
                return [deviceNode];
            default:
                return [];
        }
    }

    /// <summary>Removes an object from the index; returns the nodes whose set it was part of.</summary>
    private List<string> Unindex(ResourceType type, ChannelKey key)
    {
        _pendingPod = null;
        if (type == PodType && _pods.Remove(key, out var pod))
        {
            _pendingPod = pod;
            if (string.IsNullOrEmpty(pod.Node))
            {
                return [];
            }

            RemoveFromBucket(_podsByNode, pod.Node, key);
            RemoveUsers(pod.References, pod.Node);
            return [pod.Node];
        }

        if ((type == ConfigMapType || type == SecretType) && _configs.Remove(key))
        {
            return _configUsers.TryGetValue(key, out var users) ? [.. users.Keys] : [];
        }

        if (type == DataRuleType && _rules.Remove(key, out var rule))
        {
            return _sessions.Keys.Where(n => rule.Matches(_nodeLabels.GetValueOrDefault(n))).ToList();
        }

        if (type == DeviceType && _devices.Remove(key, out var device) && !string.IsNullOrEmpty(device.Node))
        {
            RemoveFromBucket(_devicesByNode, device.Node, key);
            RemoveUsers(device.References, device.Node);
            return [device.Node];
        }

        return [];
    }

    /// <summary>Counts <paramref name="node"/> as a user of each referenced ConfigMap or Secret (a pod's, or a device's credentials).</summary>
    private void AddUsers(ChannelKey[] references, string node)
    {
        foreach (var r in references)
        {
            var users = _configUsers.TryGetValue(r, out var u) ? u : _configUsers[r] = new(StringComparer.Ordinal);
            users[node] = users.GetValueOrDefault(node) + 1;
        }
    }

    private void RemoveUsers(ChannelKey[] references, string node)
    {
        foreach (var r in references)
        {
            if (_configUsers.TryGetValue(r, out var users) && users.TryGetValue(node, out var count))
            {
                if (count <= 1)
                {
                    users.Remove(node);
                    if (users.Count == 0)
                    {
                        _configUsers.Remove(r);
                    }
                }
                else
                {
                    users[node] = count - 1;
                }
            }
        }
    }

    private static HashSet<ChannelKey> Bucket(Dictionary<string, HashSet<ChannelKey>> index, string node) =>
        index.TryGetValue(node, out var set) ? set : index[node] = [];

    private static void RemoveFromBucket(Dictionary<string, HashSet<ChannelKey>> index, string node, ChannelKey key)
    {
        if (index.TryGetValue(node, out var set) && set.Remove(key) && set.Count == 0)
        {
            index.Remove(node);
        }
    }

    /// <summary>Everything <paramref name="node"/> should hold now.</summary>
    internal Dictionary<ChannelKey, HubObject> DesiredFor(string node)
    {
        var result = new Dictionary<ChannelKey, HubObject>();
        if (_podsByNode.TryGetValue(node, out var pods))
        {
            foreach (var key in pods)
            {
                var pod = _pods[key];
                result[key] = pod.Object;
                foreach (var r in pod.References)
                {
                    if (_configs.TryGetValue(r, out var config))
                    {
                        result[r] = config;
                    }
                }
            }
        }

        var labels = _nodeLabels.GetValueOrDefault(node);
        foreach (var rule in _rules.Values)
        {
            if (rule.Matches(labels))
            {
                result[rule.Object.Key] = rule.Object;
            }
        }

        if (_devicesByNode.TryGetValue(node, out var devices))
        {
            foreach (var key in devices)
            {
                var device = _devices[key];
                result[key] = device.Object;
                foreach (var r in device.References)
                {
                    if (_configs.TryGetValue(r, out var secret))
                    {
                        result[r] = secret;
                    }
                }
            }
        }

        return result;
    }

    /// <summary>Queues what changed in the node's set since the session's last batch.</summary>
    private static void Refresh(NodeSession session, long revision, Dictionary<ChannelKey, HubObject> desired)
    {
        var changes = new List<ObjectChange>();
        foreach (var (key, obj) in desired)
        {
            if (!session.Known.TryGetValue(key, out var known) || known != obj.Revision)
            {
                changes.Add(NodeSession.Upsert(obj));
                session.Known[key] = obj.Revision;
            }
        }

        foreach (var key in session.Known.Keys.Where(k => !desired.ContainsKey(k)).ToList())
        {
            changes.Add(NodeSession.Delete(key, revision));
            session.Known.Remove(key);
        }

        if (changes.Count > 0)
        {
            session.SendChanges(changes, session.Revision, revision, snapshot: false);
        }
    }

    private void Refresh(NodeSession session, long revision) => Refresh(session, revision, DesiredFor(session.NodeName));

    /// <summary>Takes the fingerprints a node's pods went without while the node had no session (see <see cref="Index"/>).</summary>
    private void FingerprintPodsOf(string node)
    {
        if (!_podsByNode.TryGetValue(node, out var keys))
        {
            return;
        }

        foreach (var key in keys)
        {
            if (_pods.TryGetValue(key, out var entry) && entry.Fingerprint is null)
            {
                var pod = (Pod)ObjectCodec.Decode(PodType, entry.Object.Json.Span, entry.Object.Revision);
                _pods[key] = entry with { Fingerprint = DesiredFingerprint(pod) };
            }
        }
    }

    /// <summary>
    /// What of a pod its node acts on: the object without status, resourceVersion and managedFields (and with its
    /// uid, so a pod re-created under the same name differs), but with the status of the conditions its readiness
    /// gates name, which the node reads to report the pod Ready.
    /// </summary>
    private static UInt128 DesiredFingerprint(Pod pod)
    {
        // A shallow copy with the parts the node does not act on left out, serialized into a reused buffer: no JSON
        // tree, no string (this runs for every pod event, the node's own status reports included).
        var trimmed = (Pod)pod.ShallowCopy();
        trimmed.Status = pod.Spec.ReadinessGates is { Count: > 0 } gates ? GateConditions(pod, gates) : null;
        trimmed.Metadata = pod.Metadata.ShallowCopy();
        trimmed.Metadata.ResourceVersion = null;
        trimmed.Metadata.ManagedFields = null;
        var buffer = _fingerprintBuffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = _fingerprintWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        JsonSerializer.Serialize(writer, trimmed, PodType.TypeInfo);
        writer.Flush();
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }

    /// <summary>The type and status of each condition a readiness gate names, as a status for the fingerprint.</summary>
    private static PodStatus GateConditions(Pod pod, List<PodReadinessGate> gates) => new()
    {
        Conditions = [.. gates.Select(g => new PodCondition
        {
            Type = g.ConditionType,
            Status = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == g.ConditionType)?.Status ?? "",
        })],
    };

    private sealed record PodEntry(HubObject Object, string? Node, ChannelKey[] References, UInt128? Fingerprint);

    private sealed record DeviceEntry(HubObject Object, string? Node, ChannelKey[] References);

    private sealed record RuleEntry(HubObject Object, Dictionary<string, string>? Selector, string? Site)
    {
        public bool Matches(IReadOnlyDictionary<string, string>? labels)
        {
            if (!string.IsNullOrEmpty(Site) && (labels is null || !labels.TryGetValue(SiteLabel, out var site) || site != Site))
            {
                return false;
            }

            foreach (var (k, v) in Selector ?? [])
            {
                if (labels is null || !labels.TryGetValue(k, out var value) || value != v)
                {
                    return false;
                }
            }

            return true;
        }
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Node {Node} connected: catch-up from revision {From} to {To}, {Changes} changes")]
    private static partial void LogAttached(ILogger logger, string node, long from, long to, int changes);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Node {Node} connected again: its older session is closed")]
    private static partial void LogReplaced(ILogger logger, string node);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Node channel hub fell behind the watch cache; resuming from revision {Revision}")]
    private static partial void LogResubscribe(ILogger logger, long revision);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Node channel hub relists after an error")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
