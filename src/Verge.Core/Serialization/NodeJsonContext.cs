using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;

namespace Verge.Core.Serialization;

/// <summary>
/// The source-generated JSON contracts of the kinds a node handles: what the agent and its gateway read and write.
/// Same settings and the same bytes as <see cref="VergeJsonContext"/>, for fewer types: a Native AOT binary carries
/// the converters, type descriptors and generic instantiations of every type its contexts list (about 15 KiB of
/// runtime data per type), and the agent has no use for Deployments, ReplicaSets or the rest of the control plane's
/// kinds. Code on the agent's path uses this context and <see cref="NodeJson"/>, never <see cref="VergeJsonContext"/>
/// or <see cref="VergeJson"/>, which would bring every kind back.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(TimeJsonConverter)])]
[JsonSerializable(typeof(Pod))]
[JsonSerializable(typeof(Node))]
[JsonSerializable(typeof(ConfigMap))]
[JsonSerializable(typeof(Secret))]
[JsonSerializable(typeof(Event))]
[JsonSerializable(typeof(Device))]
[JsonSerializable(typeof(DataRule))]
[JsonSerializable(typeof(Status))]
[JsonSerializable(typeof(JsonObject))]
public sealed partial class NodeJsonContext : JsonSerializerContext;
