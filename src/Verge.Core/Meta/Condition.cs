using System.ComponentModel;

namespace Verge.Core.Meta;

/// <summary>metav1.Condition: the standard condition shape of newer kinds (Verge's own kinds use it).</summary>
[Description("Condition contains details for one aspect of the current state of this API Resource.")]
public sealed class Condition
{
    [Description("type of condition in CamelCase.")]
    public string Type { get; set; } = "";

    [Description("status of the condition, one of True, False, Unknown.")]
    public string Status { get; set; } = "";

    [Description("observedGeneration represents the .metadata.generation that the condition was set based upon.")]
    public long? ObservedGeneration { get; set; }

    [Description("lastTransitionTime is the last time the condition transitioned from one status to another.")]
    public DateTimeOffset? LastTransitionTime { get; set; }

    [Description("reason contains a programmatic identifier indicating the reason for the condition's last transition.")]
    public string? Reason { get; set; }

    [Description("message is a human readable message indicating details about the transition.")]
    public string? Message { get; set; }
}
