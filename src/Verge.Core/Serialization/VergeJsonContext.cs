using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Verge.Core.Apps;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.Core.Policy;
using Verge.Core.Quantities;
using Verge.Core.Scheduling;
using Verge.Core.Selectors;

namespace Verge.Core.Serialization;

/// <summary>
/// The source-generated JSON contracts of every Verge kind and meta type. <see cref="VergeJson.Options"/> resolves
/// through it, so serialization needs no reflection (Native AOT safe). The OpenAPI generator and the patch engine
/// walk these contracts too (property names, types, and the attributes of each property).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(TimeJsonConverter)])]
[JsonSerializable(typeof(Pod))]
[JsonSerializable(typeof(Node))]
[JsonSerializable(typeof(Namespace))]
[JsonSerializable(typeof(ConfigMap))]
[JsonSerializable(typeof(Secret))]
[JsonSerializable(typeof(Event))]
[JsonSerializable(typeof(Deployment))]
[JsonSerializable(typeof(ReplicaSet))]
[JsonSerializable(typeof(DaemonSet))]
[JsonSerializable(typeof(ControllerRevision))]
[JsonSerializable(typeof(Lease))]
[JsonSerializable(typeof(PriorityClass))]
[JsonSerializable(typeof(PodDisruptionBudget))]
[JsonSerializable(typeof(Site))]
[JsonSerializable(typeof(Device))]
[JsonSerializable(typeof(DataRule))]
[JsonSerializable(typeof(PodTemplateSpec))]
[JsonSerializable(typeof(ObjectMeta))]
[JsonSerializable(typeof(ListMeta))]
[JsonSerializable(typeof(OwnerReference))]
[JsonSerializable(typeof(Status))]
[JsonSerializable(typeof(StatusDetails))]
[JsonSerializable(typeof(StatusCause))]
[JsonSerializable(typeof(Condition))]
[JsonSerializable(typeof(LabelSelector))]
[JsonSerializable(typeof(Quantity))]
[JsonSerializable(typeof(IntOrString))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, Quantity>))]
[JsonSerializable(typeof(List<string>))]
public sealed partial class VergeJsonContext : JsonSerializerContext;
