using Microsoft.Extensions.Logging;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;
using Verge.Core.Meta;
using Verge.Store;

namespace Verge.Controllers.Runtime;

/// <summary>What an informer tells its handlers; handlers run on the informer's loop and should only enqueue.</summary>
internal sealed class InformerHandler<T>
    where T : KubeObject
{
    public Action<T>? OnAdd { get; init; }

    public Action<T, T>? OnUpdate { get; init; }

    public Action<T>? OnDelete { get; init; }
}

/// <summary>The kind-independent face of an informer (the garbage collector watches every kind through it).</summary>
internal interface IInformer
{
    ResourceType Type { get; }

    /// <summary>Completes once the initial list is in the index.</summary>
    Task Synced { get; }

    /// <summary>The newest revision the index reflects.</summary>
    long Revision { get; }

    KubeObject? GetObject(string? ns, string name);

    IReadOnlyList<KubeObject> ObjectsOwnedBy(string ownerUid);

    IReadOnlyList<KubeObject> AllObjects();

    void AddHandler(InformerHandler<KubeObject> handler);

    Task WaitForRevisionAsync(long revision, CancellationToken ct);

    Task RunAsync(CancellationToken ct);
}

/// <summary>
/// A typed, local, eventually consistent copy of one kind: an initial list at the watch cache's revision, then the
/// watch from that revision, kept in an index by namespace/name, by namespace, by owner UID and by any field a
/// controller asks for (<see cref="AddIndex"/>). A watcher that falls behind is resubscribed from the last revision
/// seen; when that revision is compacted away the informer relists and tells its handlers what changed meanwhile. Objects handed out are shared: callers copy
/// (<see cref="Objects.Clone{T}"/>) before changing them.
/// </summary>
internal sealed partial class Informer<T> : IInformer
    where T : KubeObject
{
    private const int ListPageSize = 500;

    private readonly Lock _lock = new();
    private readonly Dictionary<(string? Ns, string Name), T> _items = [];
    private readonly Dictionary<string, HashSet<(string? Ns, string Name)>> _byNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<(string? Ns, string Name)>> _byOwner = new(StringComparer.Ordinal);

    /// <summary>Per namespace ("" for cluster-scoped objects): the objects without a controller ownerReference.</summary>
    private readonly Dictionary<string, HashSet<(string? Ns, string Name)>> _orphans = new(StringComparer.Ordinal);
    private readonly List<InformerHandler<T>> _handlers = [];

    /// <summary>Indexes by one string of each object (<see cref="AddIndex"/>); an array, so an event walks it without a copy.</summary>
    private FieldIndex[] _fieldIndexes = [];

    /// <summary>The handlers as an array replaced whenever one is added, so a watch event reads them without a copy.</summary>
    private InformerHandler<T>[] _handlerArray = [];
    private readonly List<(long Revision, TaskCompletionSource Done)> _revisionWaiters = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ResourceService _service;
    private readonly WatchCache _cache;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _bufferSize;
    private long _revision;

    public Informer(ResourceType type, ResourceService service, WatchCache cache, TimeProvider time, ILogger logger, int bufferSize = 10_000)
    {
        if (!typeof(T).IsAssignableFrom(type.TypeInfo.Type))
        {
            throw new ArgumentException($"{type} does not decode to {typeof(T).Name}", nameof(type));
        }

        Type = type;
        _service = service;
        _cache = cache;
        _time = time;
        _logger = logger;
        _bufferSize = bufferSize;
    }

    public ResourceType Type { get; }

    public Task Synced => _synced.Task;

    public long Revision => Interlocked.Read(ref _revision);

    public void AddHandler(InformerHandler<T> handler)
    {
        lock (_lock)
        {
            _handlers.Add(handler);
            _handlerArray = [.. _handlers];
        }
    }

    void IInformer.AddHandler(InformerHandler<KubeObject> handler) => AddHandler(new InformerHandler<T>
    {
        OnAdd = handler.OnAdd is { } add ? o => add(o) : null,
        OnUpdate = handler.OnUpdate is { } update ? (a, b) => update(a, b) : null,
        OnDelete = handler.OnDelete is { } delete ? o => delete(o) : null,
    });

    /// <summary>
    /// Indexes the objects by one string of theirs (a pod's node name), for <see cref="ByIndex"/>; objects for which
    /// <paramref name="keyOf"/> returns null or empty are not in it. Adding an index under a name that exists does
    /// nothing, so controllers that share this informer may each ask for the one they read.
    /// </summary>
    public void AddIndex(string name, Func<T, string?> keyOf)
    {
        lock (_lock)
        {
            if (Array.Exists(_fieldIndexes, i => i.Name == name))
            {
                return;
            }

            var index = new FieldIndex(name, keyOf);
            foreach (var (key, obj) in _items)
            {
                index.Add(key, obj);
            }

            _fieldIndexes = [.. _fieldIndexes, index];
        }
    }

    /// <summary>The objects whose key in the index <paramref name="name"/> is <paramref name="value"/>.</summary>
    public IReadOnlyList<T> ByIndex(string name, string value)
    {
        lock (_lock)
        {
            var index = Array.Find(_fieldIndexes, i => i.Name == name) ?? throw new InvalidOperationException($"no index {name} on the {Type} informer");
            return index.Map.TryGetValue(value, out var keys) ? [.. keys.Select(k => _items[k])] : [];
        }
    }

    /// <summary>Whether an object under <paramref name="value"/> in the index <paramref name="name"/> matches; without a copy of the list.</summary>
    public bool AnyByIndex(string name, string value, Func<T, bool> predicate)
    {
        lock (_lock)
        {
            var index = Array.Find(_fieldIndexes, i => i.Name == name) ?? throw new InvalidOperationException($"no index {name} on the {Type} informer");
            if (index.Map.TryGetValue(value, out var keys))
            {
                foreach (var key in keys)
                {
                    if (predicate(_items[key]))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }

    public T? Get(string? ns, string name)
    {
        lock (_lock)
        {
            return _items.GetValueOrDefault((ns, name));
        }
    }

    public KubeObject? GetObject(string? ns, string name) => Get(ns, name);

    /// <summary>The objects of one namespace (all namespaces when null).</summary>
    public IReadOnlyList<T> List(string? ns = null)
    {
        lock (_lock)
        {
            if (ns is null)
            {
                return [.. _items.Values];
            }

            return _byNamespace.TryGetValue(ns, out var keys) ? [.. keys.Select(k => _items[k])] : [];
        }
    }

    /// <summary>The objects with an ownerReference to <paramref name="ownerUid"/>.</summary>
    public IReadOnlyList<T> OwnedBy(string ownerUid)
    {
        lock (_lock)
        {
            return _byOwner.TryGetValue(ownerUid, out var keys) ? [.. keys.Select(k => _items[k])] : [];
        }
    }

    public IReadOnlyList<KubeObject> ObjectsOwnedBy(string ownerUid) => OwnedBy(ownerUid);

    /// <summary>
    /// The objects of one namespace (cluster-scoped ones when null) that a controller could claim: those with an
    /// ownerReference to <paramref name="controllerUid"/>, and those without a controller ownerReference. A controller
    /// that adopts orphans reads this instead of its whole namespace, so its cost follows what it owns.
    /// </summary>
    public IReadOnlyList<T> Claimable(string? ns, string controllerUid)
    {
        lock (_lock)
        {
            var result = new List<T>();
            if (_byOwner.TryGetValue(controllerUid, out var owned))
            {
                foreach (var key in owned)
                {
                    if (key.Ns == ns)
                    {
                        result.Add(_items[key]);
                    }
                }
            }

            if (_orphans.TryGetValue(ns ?? "", out var orphans))
            {
                foreach (var key in orphans)
                {
                    if (owned?.Contains(key) != true)
                    {
                        result.Add(_items[key]);
                    }
                }
            }

            return result;
        }
    }

    public IReadOnlyList<KubeObject> AllObjects() => List();

    /// <summary>Waits until the index reflects every change of this kind up to <paramref name="revision"/>.</summary>
    public Task WaitForRevisionAsync(long revision, CancellationToken ct)
    {
        lock (_lock)
        {
            if (_revision >= revision)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _revisionWaiters.Add((revision, done));
            return done.Task.WaitAsync(ct);
        }
    }

    public async Task RunAsync(CancellationToken ct)
    {
        await _cache.Ready.WaitAsync(ct);
        var relist = true;
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (relist)
                {
                    await ListAsync(ct);
                    relist = false;
                }

                using var watcher = _cache.Subscribe(Type, WatchFilter.All, Revision, _bufferSize, allowBookmarks: true);
                await foreach (var (frame, e, revision) in watcher.Events.ReadAllAsync(ct))
                {
                    failures = 0;
                    if (e is null)
                    {
                        Advance(revision);
                    }
                    else if (revision > Revision)
                    {
                        Apply(frame, (T)e.Current, revision);
                    }
                }

                // The watcher fell behind and was closed: resume from the last revision seen.
                LogResubscribe(_logger, Type.GroupResource, Revision);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RevisionCompactedException)
            {
                LogRelist(_logger, Type.GroupResource, Revision);
                relist = true;
            }
            catch (Exception e) when (e is StoreException or ApiServer.Http.ApiException or IOException)
            {
                LogWatchFailed(_logger, Type.GroupResource, e.Message);
                failures++;
                await Task.Delay(Backoff.Jittered(TimeSpan.FromMilliseconds(100 * Math.Min(failures, 50)), 0.5), _time, ct);
            }
        }
    }

    /// <summary>Lists the kind at the watch cache's revision and replaces the index, telling handlers the differences.</summary>
    private async Task ListAsync(CancellationToken ct)
    {
        var revision = _cache.Revision;
        var fresh = new Dictionary<(string? Ns, string Name), T>();
        string? after = null;
        while (true)
        {
            var page = await _service.Store.ListAsync(ObjectCodec.Prefix(Type, null), revision, ListPageSize, after, ct);
            foreach (var kv in page.Items)
            {
                var obj = (T)ObjectCodec.Decode(Type, kv.Value.Span, kv.ModRevision);
                fresh[(obj.Metadata.Namespace, obj.Metadata.Name!)] = obj;
            }

            if (revision == 0)
            {
                revision = page.Revision;
            }

            if (!page.HasMore || page.Items.Count == 0)
            {
                break;
            }

            after = page.Items[^1].Key;
        }

        List<Action> notifications = [];
        List<TaskCompletionSource>? released;
        lock (_lock)
        {
            foreach (var (key, old) in _items.ToList())
            {
                if (!fresh.ContainsKey(key))
                {
                    Remove(key, old);
                    notifications.AddRange(_handlers.Where(h => h.OnDelete is not null).Select(h => (Action)(() => h.OnDelete!(old))));
                }
            }

            foreach (var (key, obj) in fresh)
            {
                if (_items.TryGetValue(key, out var old))
                {
                    Remove(key, old);
                    Insert(key, obj);
                    if (old.Metadata.ResourceVersion != obj.Metadata.ResourceVersion)
                    {
                        notifications.AddRange(_handlers.Where(h => h.OnUpdate is not null).Select(h => (Action)(() => h.OnUpdate!(old, obj))));
                    }
                }
                else
                {
                    Insert(key, obj);
                    notifications.AddRange(_handlers.Where(h => h.OnAdd is not null).Select(h => (Action)(() => h.OnAdd!(obj))));
                }
            }

            released = SetRevision(revision);
        }

        Notify(notifications);
        released?.ForEach(r => r.TrySetResult());
        _synced.TrySetResult();
    }

    /// <summary>
    /// Takes one watch event into the index and tells the handlers. An update that leaves every index as it was (a
    /// lease renewal, a status write) replaces the object alone, and the handlers are called without a closure or a
    /// list per event: node Leases alone bring one such event per node every second or two.
    /// </summary>
    private void Apply(WatchFrameType frame, T obj, long revision)
    {
        var key = (obj.Metadata.Namespace, obj.Metadata.Name!);
        T? old;
        bool had;
        InformerHandler<T>[] handlers;
        List<TaskCompletionSource>? released;
        lock (_lock)
        {
            had = _items.TryGetValue(key, out old);
            if (frame == WatchFrameType.Deleted)
            {
                if (had)
                {
                    Remove(key, old!);
                }
            }
            else if (had && SameIndexEntries(old!, obj))
            {
                _items[key] = obj;
            }
            else
            {
                if (had)
                {
                    Remove(key, old!);
                }

                Insert(key, obj);
            }

            handlers = _handlerArray;
            released = SetRevision(revision);
        }

        foreach (var handler in handlers)
        {
            try
            {
                if (frame == WatchFrameType.Deleted)
                {
                    if (had)
                    {
                        handler.OnDelete?.Invoke(obj);
                    }
                }
                else if (had)
                {
                    handler.OnUpdate?.Invoke(old!, obj);
                }
                else
                {
                    handler.OnAdd?.Invoke(obj);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogHandlerFailed(_logger, Type.GroupResource, e);
            }
        }

        released?.ForEach(r => r.TrySetResult());
    }

    /// <summary>
    /// Whether two versions of one object sit in the same index entries: the same owners, in order, the same
    /// controller or none, and the same key in each field index.
    /// </summary>
    private bool SameIndexEntries(T a, T b)
    {
        foreach (var index in _fieldIndexes)
        {
            if (!string.Equals(index.KeyOf(a), index.KeyOf(b), StringComparison.Ordinal))
            {
                return false;
            }
        }

        var (x, y) = (a.Metadata.OwnerReferences, b.Metadata.OwnerReferences);
        if ((x?.Count ?? 0) != (y?.Count ?? 0))
        {
            return false;
        }

        for (var i = 0; i < (x?.Count ?? 0); i++)
        {
            if (!string.Equals(x![i].Uid, y![i].Uid, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return HasController(a) == HasController(b);
    }

    private void Advance(long revision)
    {
        List<TaskCompletionSource>? released;
        lock (_lock)
        {
            if (revision <= _revision)
            {
                return;
            }

            released = SetRevision(revision);
        }

        released?.ForEach(r => r.TrySetResult());
    }

    /// <summary>Moves the revision on; the waiters it releases, or null when none.</summary>
    private List<TaskCompletionSource>? SetRevision(long revision)
    {
        Interlocked.Exchange(ref _revision, Math.Max(_revision, revision));
        if (_revisionWaiters.Count == 0)
        {
            return null;
        }

        List<TaskCompletionSource> released = [];
        _revisionWaiters.RemoveAll(w =>
        {
            if (w.Revision > _revision)
            {
                return false;
            }

            released.Add(w.Done);
            return true;
        });
        return released;
    }

    private void Notify(List<Action> notifications)
    {
        foreach (var notify in notifications)
        {
            try
            {
                notify();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogHandlerFailed(_logger, Type.GroupResource, e);
            }
        }
    }

    private void Insert((string? Ns, string Name) key, T obj)
    {
        _items[key] = obj;
        foreach (var index in _fieldIndexes)
        {
            index.Add(key, obj);
        }

        if (key.Ns is { } ns)
        {
            if (!_byNamespace.TryGetValue(ns, out var names))
            {
                _byNamespace[ns] = names = [];
            }

            names.Add(key);
        }

        foreach (var owner in obj.Metadata.OwnerReferences ?? [])
        {
            if (!_byOwner.TryGetValue(owner.Uid, out var owned))
            {
                _byOwner[owner.Uid] = owned = [];
            }

            owned.Add(key);
        }

        if (!HasController(obj))
        {
            if (!_orphans.TryGetValue(key.Ns ?? "", out var orphans))
            {
                _orphans[key.Ns ?? ""] = orphans = [];
            }

            orphans.Add(key);
        }
    }

    private static bool HasController(T obj) => obj.Metadata.OwnerReferences?.Exists(r => r.Controller == true) == true;

    private void Remove((string? Ns, string Name) key, T obj)
    {
        _items.Remove(key);
        foreach (var index in _fieldIndexes)
        {
            index.Remove(key, obj);
        }

        if (key.Ns is { } ns && _byNamespace.TryGetValue(ns, out var names))
        {
            names.Remove(key);
            if (names.Count == 0)
            {
                _byNamespace.Remove(ns);
            }
        }

        foreach (var owner in obj.Metadata.OwnerReferences ?? [])
        {
            if (_byOwner.TryGetValue(owner.Uid, out var owned))
            {
                owned.Remove(key);
                if (owned.Count == 0)
                {
                    _byOwner.Remove(owner.Uid);
                }
            }
        }

        if (_orphans.TryGetValue(key.Ns ?? "", out var orphans) && orphans.Remove(key) && orphans.Count == 0)
        {
            _orphans.Remove(key.Ns ?? "");
        }
    }

    /// <summary>One index of <see cref="AddIndex"/>: the keys of the objects under each value.</summary>
    private sealed class FieldIndex(string name, Func<T, string?> keyOf)
    {
        public string Name => name;

        public Func<T, string?> KeyOf => keyOf;

        public Dictionary<string, HashSet<(string? Ns, string Name)>> Map { get; } = new(StringComparer.Ordinal);

        public void Add((string? Ns, string Name) key, T obj)
        {
            if (keyOf(obj) is not { Length: > 0 } value)
            {
                return;
            }

            if (!Map.TryGetValue(value, out var keys))
            {
                Map[value] = keys = [];
            }

            keys.Add(key);
        }

        public void Remove((string? Ns, string Name) key, T obj)
        {
            if (keyOf(obj) is { Length: > 0 } value && Map.TryGetValue(value, out var keys) && keys.Remove(key) && keys.Count == 0)
            {
                Map.Remove(value);
            }
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Informer for {Resource} fell behind; resuming from revision {Revision}")]
    private static partial void LogResubscribe(ILogger logger, string resource, long revision);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Informer for {Resource} relists: revision {Revision} was compacted")]
    private static partial void LogRelist(ILogger logger, string resource, long revision);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Informer for {Resource} failed, retrying: {Reason}")]
    private static partial void LogWatchFailed(ILogger logger, string resource, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "An event handler of the {Resource} informer failed")]
    private static partial void LogHandlerFailed(ILogger logger, string resource, Exception exception);
}
