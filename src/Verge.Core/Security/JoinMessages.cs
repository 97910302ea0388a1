using System.Text.Json.Serialization;

namespace Verge.Core.Security;

/// <summary>The body of <c>POST /verge/v1/join</c>: a bootstrap token, the node's name and its PEM PKCS#10 request.</summary>
public sealed class JoinRequest
{
    public const string Path = "/verge/v1/join";

    /// <summary>
    /// Where the cluster CA certificate is served, in PEM, without authentication, so that a joining agent can check
    /// it against the pin in its token before it sends the token anywhere.
    /// </summary>
    public const string CaPath = "/verge/v1/cacerts";

    /// <summary>The bare token <c>ID.SECRET</c>.</summary>
    public string? Token { get; set; }

    public string? NodeName { get; set; }

    /// <summary>The certificate signing request in PEM.</summary>
    public string? Csr { get; set; }
}

/// <summary>The answer to a join: the node's client certificate and the cluster CA, both PEM.</summary>
public sealed class JoinResponse
{
    public string? Certificate { get; set; }

    public string? CaCertificate { get; set; }
}

/// <summary>Source-generated JSON for the join messages (no reflection: the agent is a Native AOT binary).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JoinRequest))]
[JsonSerializable(typeof(JoinResponse))]
public sealed partial class JoinJsonContext : JsonSerializerContext;
