using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Controllers.Runtime;

/// <summary>
/// Routes the events of owned objects (a ReplicaSet's pods, a Deployment's ReplicaSets) to the keys of the owners
/// that must look again, as Kubernetes' controllers do: the controller owner named by the controller reference
/// (old and new, when it changed hands), or, for an orphan, every owner in its namespace whose selector matches it
/// (a candidate for adoption).
/// </summary>
internal sealed class OwnerRouter<TOwner>(
    Informer<TOwner> owners,
    string ownerKind,
    Func<TOwner, LabelSelector?> selectorOf,
    Action<string> enqueue)
    where TOwner : KubeObject
{
    /// <summary>The live controller owner of <paramref name="owned"/>, when its UID still matches.</summary>
    public TOwner? OwnerOf(KubeObject owned) =>
        Objects.ControllerOf(owned) is { } reference && reference.Kind == ownerKind
        && owners.Get(owned.Metadata.Namespace, reference.Name) is { } owner && owner.Metadata.Uid == reference.Uid
            ? owner
            : null;

    public void OnAdded(KubeObject owned)
    {
        if (owned.Metadata.DeletionTimestamp is not null || Objects.ControllerOf(owned) is not null)
        {
            EnqueueOwner(owned);
            return;
        }

        EnqueueMatching(owned);
    }

    public void OnUpdated(KubeObject old, KubeObject owned)
    {
        if (old.Metadata.ResourceVersion == owned.Metadata.ResourceVersion)
        {
            return;
        }

        var oldController = Objects.ControllerOf(old);
        var controller = Objects.ControllerOf(owned);
        if (oldController is not null && oldController.Uid != controller?.Uid)
        {
            EnqueueOwner(old);
        }

        if (controller is not null)
        {
            EnqueueOwner(owned);
            return;
        }

        if (oldController is not null || !SameLabels(old.Metadata.Labels, owned.Metadata.Labels))
        {
            EnqueueMatching(owned);
        }
    }

    public void EnqueueOwner(KubeObject owned)
    {
        if (OwnerOf(owned) is { } owner)
        {
            enqueue(Objects.KeyOf(owner));
        }
    }

    private void EnqueueMatching(KubeObject owned)
    {
        foreach (var owner in owners.List(owned.Metadata.Namespace))
        {
            try
            {
                var selector = LabelSelectorExpression.FromLabelSelector(selectorOf(owner));
                if (!selector.IsEmpty && selector.Matches(owned.Metadata.Labels))
                {
                    enqueue(Objects.KeyOf(owner));
                }
            }
            catch (FormatException)
            {
                // An owner with an invalid selector owns nothing.
            }
        }
    }

    private static bool SameLabels(Dictionary<string, string>? a, Dictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? []).All(p => b!.TryGetValue(p.Key, out var v) && v == p.Value);
}
