using System.ComponentModel;
using Verge.Core.Meta;

namespace Verge.Core.Core;

/// <summary>core/v1 ConfigMap.</summary>
[Description("ConfigMap holds configuration data for pods to consume.")]
public sealed class ConfigMap : KubeObject
{
    [Description("Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'.")]
    public Dictionary<string, string>? Data { get; set; }

    [Description("BinaryData contains the binary data. Values are base64 encoded in JSON.")]
    public Dictionary<string, byte[]>? BinaryData { get; set; }

    [Description("Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated (only object metadata can be modified).")]
    public bool? Immutable { get; set; }
}

/// <summary>core/v1 Secret.</summary>
[Description("Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than MaxSecretSize bytes.")]
public sealed class Secret : KubeObject
{
    [Description("Used to facilitate programmatic handling of secret data. Defaults to Opaque.")]
    public string? Type { get; set; }

    [Description("Data contains the secret data. The serialized form of the secret data is a base64 encoded string.")]
    public Dictionary<string, byte[]>? Data { get; set; }

    [Description("stringData allows specifying non-binary secret data in string form. It is provided as a write-only input field for convenience: its entries are merged into data on write.")]
    public Dictionary<string, string>? StringData { get; set; }

    [Description("Immutable, if set to true, ensures that data stored in the Secret cannot be updated (only object metadata can be modified).")]
    public bool? Immutable { get; set; }
}
