using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Scores;

/// <summary>
/// Verge's locality score, 0-100. A pod annotated <c>verge.dev/site: S</c> prefers nodes labelled
/// <c>verge.dev/site=S</c>; a pod annotated <c>verge.dev/devices: a,b</c> prefers nodes whose <c>verge.dev/devices</c>
/// annotation lists those devices, in proportion to how many. With both, each counts for half.
/// </summary>
internal static class Locality
{
    public static bool Applies(PendingPod pod) => pod.Site is not null || pod.Devices is not null;

    public static long Score(PendingPod pod, NodeInfo node)
    {
        long total = 0;
        var parts = 0;
        if (pod.Site is not null)
        {
            parts++;
            if (node.Site == pod.Site)
            {
                total += 100;
            }
        }

        if (pod.Devices is not null)
        {
            parts++;
            if (node.Devices is not null)
            {
                var reached = 0;
                foreach (var device in pod.Devices)
                {
                    if (node.Devices.Contains(device))
                    {
                        reached++;
                    }
                }

                total += 100L * reached / pod.Devices.Count;
            }
        }

        return parts == 0 ? 0 : total / parts;
    }
}
