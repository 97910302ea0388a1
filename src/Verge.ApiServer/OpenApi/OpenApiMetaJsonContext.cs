using System.Text.Json.Serialization;
using Verge.Core.Meta;

namespace Verge.ApiServer.OpenApi;

/// <summary>
/// Contracts for the meta types every group-version document references (Status, ListMeta), so the documents
/// can describe them even when a kind's own JSON context does not include them.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Status))]
[JsonSerializable(typeof(ListMeta))]
[JsonSerializable(typeof(ObjectMeta))]
internal sealed partial class OpenApiMetaJsonContext : JsonSerializerContext;
