using System.ComponentModel;
using Verge.Core.Meta;

namespace Verge.Core.Core;

/// <summary>core/v1 Namespace.</summary>
[Description("Namespace provides a scope for Names. Use of multiple namespaces is optional.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "The Kubernetes kind is named so.")]
public sealed class Namespace : KubeObject
{
    [Description("Spec defines the behavior of the Namespace.")]
    public NamespaceSpec? Spec { get; set; }

    [Description("Status describes the current status of a Namespace.")]
    public NamespaceStatus? Status { get; set; }
}

/// <summary>core/v1 NamespaceSpec.</summary>
[Description("NamespaceSpec describes the attributes on a Namespace.")]
public sealed class NamespaceSpec
{
    [Description("Finalizers is an opaque list of values that must be empty to permanently remove object from storage.")]
    public List<string>? Finalizers { get; set; }
}

/// <summary>core/v1 NamespaceStatus.</summary>
[Description("NamespaceStatus is information about the current status of a Namespace.")]
public sealed class NamespaceStatus
{
    [Description("Phase is the current lifecycle phase of the namespace: Active or Terminating.")]
    public string? Phase { get; set; }

    [MergeKey("type")]
    [Description("Represents the latest available observations of a namespace's current state.")]
    public List<NamespaceCondition>? Conditions { get; set; }
}

/// <summary>core/v1 NamespaceCondition.</summary>
[Description("NamespaceCondition contains details about state of namespace.")]
public sealed class NamespaceCondition
{
    [Description("Type of namespace controller condition.")]
    public string Type { get; set; } = "";

    [Description("Status of the condition, one of True, False, Unknown.")]
    public string Status { get; set; } = "";

    [Description("Last time the condition transitioned from one status to another.")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [Description("Unique, one-word, CamelCase reason for the condition's last transition.")]
    public string? Reason { get; set; }

    [Description("Human-readable message indicating details about last transition.")]
    public string? Message { get; set; }
}
