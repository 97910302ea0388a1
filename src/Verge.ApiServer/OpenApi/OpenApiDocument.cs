namespace Verge.ApiServer.OpenApi;

/// <summary>One served OpenAPI document: its UTF-8 JSON bytes and the SHA-512 hash that is also its ETag.</summary>
internal sealed class OpenApiDocument
{
    public OpenApiDocument(byte[] utf8Json)
    {
        Utf8Json = utf8Json;
        Hash = CanonicalJson.Hash(utf8Json);
    }

    public byte[] Utf8Json { get; }

    /// <summary>Upper-case hex SHA-512 of <see cref="Utf8Json"/>, as Kubernetes computes it.</summary>
    public string Hash { get; }

    /// <summary>The quoted entity tag for the <c>ETag</c> header.</summary>
    public string ETag => "\"" + Hash + "\"";
}
