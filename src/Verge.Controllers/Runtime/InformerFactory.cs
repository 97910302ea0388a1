using Microsoft.Extensions.Logging;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;
using Verge.Core.Meta;

namespace Verge.Controllers.Runtime;

/// <summary>One informer per kind, shared by every controller of a leadership term.</summary>
internal sealed class InformerFactory(ResourceService service, WatchCache cache, TimeProvider time, ILoggerFactory loggers)
{
    private readonly Dictionary<ResourceType, IInformer> _informers = [];

    public IReadOnlyCollection<IInformer> All => _informers.Values;

    /// <summary>The typed informer of <typeparamref name="T"/>; ask for typed informers before untyped ones of the same kind.</summary>
    public Informer<T> For<T>()
        where T : KubeObject
    {
        var type = ResourceCatalog.For<T>();
        if (_informers.TryGetValue(type, out var existing))
        {
            return existing as Informer<T> ?? throw new InvalidOperationException($"the informer of {type} was created untyped");
        }

        var informer = new Informer<T>(type, service, cache, time, loggers.CreateLogger<Informer<T>>());
        _informers[type] = informer;
        return informer;
    }

    /// <summary>The informer of any kind (typed if one exists, otherwise over <see cref="KubeObject"/>).</summary>
    public IInformer For(ResourceType type)
    {
        if (!_informers.TryGetValue(type, out var informer))
        {
            _informers[type] = informer = new Informer<KubeObject>(type, service, cache, time, loggers.CreateLogger<Informer<KubeObject>>());
        }

        return informer;
    }

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_informers.Values.Select(i => i.RunAsync(ct)));
}
