using System.ComponentModel;
using System.Text.Json.Nodes;
using Verge.Core.Meta;

namespace Verge.Core.Edge;

/// <summary>edge.verge.dev/v1 Device: an IoT device bridged by a gateway, with its desired and reported twin.</summary>
[Description("Device is an IoT device that connects to a Verge gateway, with a desired and a reported state (its twin).")]
public sealed class Device : KubeObject
{
    [Description("Spec describes the device and its desired state.")]
    public DeviceSpec Spec { get; set; } = new();

    [Description("Status holds the state the device reported and its connection.")]
    public DeviceStatus? Status { get; set; }
}

/// <summary>The desired state of a <see cref="Device"/>.</summary>
[Description("DeviceSpec describes a device.")]
public sealed class DeviceSpec
{
    [Description("Protocol the device speaks to its gateway: mqtt or http.")]
    public string Protocol { get; set; } = "";

    [Description("Name of the Secret in the device's namespace that holds its credentials.")]
    public string CredentialsSecret { get; set; } = "";

    [Description("Name of the Site the device belongs to.")]
    public string? Site { get; set; }

    [Description("Name of the gateway node that serves the device. Empty lets any gateway of the site serve it.")]
    public string? NodeName { get; set; }

    [Description("The desired state of the device, a free-form JSON object sent down to it.")]
    public JsonObject? Desired { get; set; }

    [Description("Free-form attributes of the device (model, firmware, ...).")]
    public Dictionary<string, string>? Attributes { get; set; }
}

/// <summary>The observed state of a <see cref="Device"/>.</summary>
[Description("DeviceStatus is the state a device reported and its connection.")]
public sealed class DeviceStatus
{
    [Description("The state the device last reported, a free-form JSON object.")]
    public JsonObject? Reported { get; set; }

    [Description("When the gateway last heard from the device.")]
    public DateTimeOffset? LastSeen { get; set; }

    [Description("Whether the device is connected to its gateway now.")]
    public bool? Connected { get; set; }

    [Description("The gateway node the device is connected to.")]
    public string? GatewayNode { get; set; }

    [MergeKey("type")]
    [Description("Latest observations of the device's state.")]
    public List<Condition>? Conditions { get; set; }
}
