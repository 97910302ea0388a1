using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.Controllers.DaemonSets;

/// <summary>What the history step decided: revisions to create, renumber and delete.</summary>
internal sealed record DaemonSetHistoryPlan(
    ControllerRevision? Create,
    (ControllerRevision Revision, long To)? Renumber,
    List<ControllerRevision> Delete);

/// <summary>
/// A DaemonSet's template history as ControllerRevisions, after Kubernetes' <c>daemon/update.go</c>: each distinct
/// template is one revision named <c>&lt;daemonset&gt;-&lt;hash&gt;</c> whose data is the strategic merge patch
/// <c>{"spec":{"template":{..., "$patch":"replace"}}}</c>. <c>kubectl rollout undo daemonset</c> sends that data back
/// as a patch; the template then equals an old revision's, which is renumbered to the newest instead of copied.
/// </summary>
internal static class DaemonSetHistory
{
    /// <summary>The revisions Kubernetes keeps when <c>spec.revisionHistoryLimit</c> is not set.</summary>
    public const int DefaultHistoryLimit = 10;

    /// <summary>The patch that restores <paramref name="ds"/>'s template.</summary>
    public static JsonObject Patch(DaemonSet ds)
    {
        var template = JsonSerializer.SerializeToNode(ds.Spec.Template, VergeJson.Options.GetTypeInfo(typeof(PodTemplateSpec)))?.AsObject() ?? [];
        template["$patch"] = "replace";
        return new JsonObject { ["spec"] = new JsonObject { ["template"] = template } };
    }

    /// <summary>
    /// Plans the history step: the revision matching the current template (created when there is none, renumbered
    /// to the newest when it is an old one), and the old revisions beyond the history limit that no pod still runs.
    /// </summary>
    public static DaemonSetHistoryPlan Plan(DaemonSet ds, string hash, IReadOnlyList<ControllerRevision> owned, IReadOnlyList<Pod> pods, ResourceType dsType)
    {
        var patch = Patch(ds);
        var matching = owned.Where(r => JsonNode.DeepEquals(r.Data, patch)).OrderByDescending(r => r.Revision).ToList();
        var max = owned.Count == 0 ? 0 : owned.Max(r => r.Revision);
        var current = matching.FirstOrDefault();
        ControllerRevision? create = null;
        (ControllerRevision, long)? renumber = null;
        if (current is null)
        {
            create = New(ds, hash, max + 1, patch, dsType);
        }
        else if (current.Revision < max)
        {
            renumber = (current, max + 1);
        }

        // Duplicates of the current template go; then the oldest revisions no live pod uses, beyond the limit.
        var delete = matching.Skip(1).ToList();
        var inUse = pods.Where(p => p.Metadata.DeletionTimestamp is null)
            .Select(p => p.Metadata.Labels?.GetValueOrDefault(DaemonSetPlanner.HashLabel))
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        var old = owned.Where(r => r != current && !delete.Contains(r)).ToList();
        var limit = Math.Max(0, ds.Spec.RevisionHistoryLimit ?? DefaultHistoryLimit);
        var excess = old.Count - limit;
        if (excess > 0)
        {
            delete.AddRange(old.Where(r => !inUse.Contains(r.Metadata.Labels?.GetValueOrDefault(DaemonSetPlanner.HashLabel) ?? ""))
                .OrderBy(r => r.Revision)
                .Take(excess));
        }

        return new DaemonSetHistoryPlan(create, renumber, delete);
    }

    /// <summary>
    /// A new revision: the template's labels plus the hash label (so the DaemonSet's selector finds it, as
    /// <c>kubectl rollout history</c> expects), the DaemonSet's annotations (its change-cause among them) and a
    /// controller reference.
    /// </summary>
    public static ControllerRevision New(DaemonSet ds, string hash, long revision, JsonObject patch, ResourceType dsType)
    {
        var labels = new Dictionary<string, string>(ds.Spec.Template.Metadata?.Labels ?? [], StringComparer.Ordinal)
        {
            [DaemonSetPlanner.HashLabel] = hash,
        };
        return new ControllerRevision
        {
            ApiVersion = "apps/v1",
            Kind = "ControllerRevision",
            Metadata = new ObjectMeta
            {
                Name = $"{ds.Metadata.Name}-{hash}",
                Namespace = ds.Metadata.Namespace,
                Labels = labels,
                Annotations = ds.Metadata.Annotations is { Count: > 0 } a ? new Dictionary<string, string>(a, StringComparer.Ordinal) : null,
                OwnerReferences = [Objects.ControllerReference(ds, dsType)],
            },
            Data = patch,
            Revision = revision,
        };
    }
}
