using System.ComponentModel;
using System.Text.Json.Nodes;
using Verge.Core.Meta;

namespace Verge.Core.Apps;

/// <summary>
/// apps/v1 ControllerRevision: an immutable snapshot of a workload's template, kept by the DaemonSet controller as
/// its history (what <c>kubectl rollout history</c> lists and <c>kubectl rollout undo</c> patches back).
/// </summary>
[Description("ControllerRevision implements an immutable snapshot of state data. Clients are responsible for serializing and deserializing the objects that contain their internal state. Once a ControllerRevision has been successfully created, it can not be updated. The API Server will fail validation of all requests that attempt to mutate the Data field. ControllerRevisions may, however, be deleted.")]
public sealed class ControllerRevision : KubeObject
{
    [Description("Data is the serialized representation of the state.")]
    public JsonNode? Data { get; set; }

    [Description("Revision indicates the revision of the state represented by Data.")]
    public long Revision { get; set; }
}
