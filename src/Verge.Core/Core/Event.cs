using System.ComponentModel;
using System.Text.Json.Serialization;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.Core.Core;

/// <summary>core/v1 Event.</summary>
[Description("Event is a report of an event somewhere in the cluster.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "The Kubernetes kind is named so.")]
public sealed class Event : KubeObject
{
    [Description("The object that this event is about.")]
    public ObjectReference InvolvedObject { get; set; } = new();

    [Description("This should be a short, machine understandable string that gives the reason for the transition into the object's current status.")]
    public string? Reason { get; set; }

    [Description("A human-readable description of the status of this operation.")]
    public string? Message { get; set; }

    [Description("The component reporting this event. Should be a short machine understandable string.")]
    public EventSource? Source { get; set; }

    [Description("The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)")]
    public DateTimeOffset? FirstTimestamp { get; set; }

    [Description("The time at which the most recent occurrence of this event was recorded.")]
    public DateTimeOffset? LastTimestamp { get; set; }

    [Description("The number of times this event has occurred.")]
    public int? Count { get; set; }

    [Description("Type of this event (Normal, Warning), new types could be added in the future.")]
    public string? Type { get; set; }

    [JsonConverter(typeof(MicroTimeJsonConverter))]
    [Description("Time when this Event was first observed.")]
    public DateTimeOffset? EventTime { get; set; }

    [Description("What action was taken/failed regarding to the Regarding object.")]
    public string? Action { get; set; }

    [Description("Optional secondary object for more complex actions.")]
    public ObjectReference? Related { get; set; }

    [Description("Name of the controller that emitted this Event, e.g. `verge.dev/scheduler`.")]
    public string? ReportingComponent { get; set; }

    [Description("ID of the controller instance, e.g. `scheduler-xyzf`.")]
    public string? ReportingInstance { get; set; }
}

/// <summary>core/v1 EventSource.</summary>
[Description("EventSource contains information for an event.")]
public sealed class EventSource
{
    [Description("Component from which the event is generated.")]
    public string? Component { get; set; }

    [Description("Node name on which the event is generated.")]
    public string? Host { get; set; }
}

/// <summary>core/v1 ObjectReference.</summary>
[Description("ObjectReference contains enough information to let you inspect or modify the referred object.")]
public sealed class ObjectReference
{
    [Description("Kind of the referent.")]
    public string? Kind { get; set; }

    [Description("Namespace of the referent.")]
    public string? Namespace { get; set; }

    [Description("Name of the referent.")]
    public string? Name { get; set; }

    [Description("UID of the referent.")]
    public string? Uid { get; set; }

    [Description("API version of the referent.")]
    public string? ApiVersion { get; set; }

    [Description("Specific resourceVersion to which this reference is made, if any.")]
    public string? ResourceVersion { get; set; }

    [Description("If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].")]
    public string? FieldPath { get; set; }
}
