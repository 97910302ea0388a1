using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.Support;

/// <summary>
/// Plays the node for the tests, as the hollow-node simulator will: every pod that <see cref="Runs"/> accepts is
/// marked Running and Ready through the pods' status subresource.
/// </summary>
internal sealed class NodeSimulator : IAsyncDisposable
{
    private readonly TestCluster _cluster;
    private readonly Informer<Pod> _pods;
    private readonly Channel<Pod> _work = Channel.CreateUnbounded<Pod>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private readonly Task _worker;

    public NodeSimulator(TestCluster cluster, Func<Pod, bool> runs)
    {
        _cluster = cluster;
        Runs = runs;
        _pods = new Informer<Pod>(ResourceCatalog.For<Pod>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
        _pods.AddHandler(new InformerHandler<Pod>
        {
            OnAdd = pod => _work.Writer.TryWrite(pod),
            OnUpdate = (_, pod) => _work.Writer.TryWrite(pod),
        });
        _run = _pods.RunAsync(_stop.Token);
        _worker = Task.Run(() => WorkAsync(_stop.Token));
    }

    /// <summary>Which pods this node starts; change it and call <see cref="Recheck"/> to start pods it held back.</summary>
    public Func<Pod, bool> Runs { get; set; }

    public Task Synced => _pods.Synced;

    public void Recheck()
    {
        foreach (var pod in _pods.List())
        {
            _work.Writer.TryWrite(pod);
        }
    }

    private async Task WorkAsync(CancellationToken ct)
    {
        await foreach (var pod in _work.Reader.ReadAllAsync(ct))
        {
            if (pod.Metadata.DeletionTimestamp is not null || PodState.IsReady(pod) || !Runs(pod))
            {
                continue;
            }

            try
            {
                await MarkRunningAsync(pod, ct);
            }
            catch (ApiServer.Http.ApiException)
            {
                // The pod changed or went away meanwhile; its next event brings it back.
            }
        }
    }

    private async Task MarkRunningAsync(Pod pod, CancellationToken ct)
    {
        {
            var now = Objects.Now(TimeProvider.System);
            await _cluster.Client.MutateAsync<Pod>(pod.Metadata.Namespace, pod.Metadata.Name!, "status", current =>
            {
                if (current.Metadata.Uid != pod.Metadata.Uid || PodState.IsReady(current))
                {
                    return false;
                }

                current.Status = new PodStatus
                {
                    Phase = "Running",
                    StartTime = now,
                    HostIP = "10.0.0.1",
                    PodIP = "10.1.0.1",
                    Conditions =
                    [
                        new PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = now },
                        new PodCondition { Type = "Initialized", Status = "True", LastTransitionTime = now },
                        new PodCondition { Type = "ContainersReady", Status = "True", LastTransitionTime = now },
                        new PodCondition { Type = "Ready", Status = "True", LastTransitionTime = now },
                    ],
                    ContainerStatuses = [.. current.Spec.Containers.Select(c => new ContainerStatus
                    {
                        Name = c.Name,
                        Image = c.Image ?? "",
                        ImageID = c.Image ?? "",
                        Ready = true,
                        Started = true,
                        State = new ContainerState { Running = new ContainerStateRunning { StartedAt = now } },
                    })],
                };
                return true;
            }, ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _work.Writer.TryComplete();
        foreach (var task in new[] { _run, _worker })
        {
            try
            {
                await task;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }
}
