using Verge.ApiServer.Http;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Runtime;

/// <summary>
/// Creates and deletes the pods a workload controller owns, with the events Kubernetes records for them
/// (SuccessfulCreate, SuccessfulDelete, FailedCreate, FailedDelete), and reports each write's revision so the
/// controller waits for its informer to see it. A failure is returned, not thrown, so a batch of pod writes can
/// finish and the controller requeue once.
/// </summary>
internal sealed class PodControl(ApiClient client, EventRecorder events, Action<string, long> recordWrite)
{
    public async Task<Exception?> CreateAsync(string key, KubeObject owner, Pod pod, CancellationToken ct)
    {
        try
        {
            var created = await client.CreateAsync(pod, ct);
            recordWrite(key, Objects.RevisionOf(created));
            await events.NormalAsync(owner, "SuccessfulCreate", $"Created pod: {created.Metadata.Name}", ct);
            return null;
        }
        catch (Exception e) when (e is ApiException or Store.StoreException)
        {
            await events.WarningAsync(owner, "FailedCreate", $"Error creating: {e.Message}", ct);
            return e;
        }
    }

    public async Task<Exception?> DeleteAsync(string key, KubeObject owner, Pod pod, CancellationToken ct)
    {
        try
        {
            var deleted = await client.DeleteAsync(pod, ct);
            if (deleted is not null)
            {
                recordWrite(key, Objects.RevisionOf(deleted));
                await events.NormalAsync(owner, "SuccessfulDelete", $"Deleted pod: {pod.Metadata.Name}", ct);
            }

            return null;
        }
        catch (Exception e) when (e is ApiException or Store.StoreException)
        {
            await events.WarningAsync(owner, "FailedDelete", $"Error deleting: {e.Message}", ct);
            return e;
        }
    }
}
