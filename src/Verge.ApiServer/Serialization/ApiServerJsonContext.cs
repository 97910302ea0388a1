using System.Text.Json.Serialization;
using Verge.ApiServer.Registry;

namespace Verge.ApiServer.Serialization;

/// <summary>Source-generated JSON contracts of the server's own request and response types.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeleteOptions))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonObject))]
internal sealed partial class ApiServerJsonContext : JsonSerializerContext;
