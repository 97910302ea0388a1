using Verge.Agent.Pods;
using Verge.Core.Core;
using Verge.Gateway;

namespace Verge.Agent.Gateway;

/// <summary>
/// The gateway's view of the pods this agent runs, for data-rule HTTP actions with a pod selector: a pod counts once
/// its last published status is Running with condition Ready True and a pod IP.
/// </summary>
internal sealed class LocalPods(Func<IReadOnlyList<(string Namespace, string Name, IReadOnlyDictionary<string, string>? Labels, PodStatus? Status)>> list) : ILocalPods
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();

    public LocalPods(PodManager pods)
        : this(pods.ListStatuses)
    {
    }

    public IReadOnlyList<LocalPod> ListReadyPods()
    {
        var ready = new List<LocalPod>();
        foreach (var (podNamespace, name, labels, status) in list())
        {
            if (IsReady(status))
            {
                ready.Add(new LocalPod(podNamespace, name, labels ?? NoLabels, status!.PodIP!));
            }
        }

        return ready;
    }

    internal static bool IsReady(PodStatus? status) =>
        status is { Phase: "Running", PodIP.Length: > 0 }
        && status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
}
