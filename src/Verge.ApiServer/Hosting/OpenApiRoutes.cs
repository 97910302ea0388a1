using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Http;
using Verge.ApiServer.OpenApi;
using Verge.Core.Meta;

namespace Verge.ApiServer.Hosting;

/// <summary>Routes <c>/openapi/v2</c>, <c>/openapi/v3</c> and <c>/openapi/v3/{group-version}</c>; the documents are built on first use.</summary>
internal sealed class OpenApiRoutes(Lazy<OpenApiDocuments> documents)
{
    public static OpenApiRoutes Create(IReadOnlyList<ResourceType> types) => new(new Lazy<OpenApiDocuments>(() => OpenApiDocuments.Build(types)));

    public Task HandleAsync(HttpContext context, string[] segments) => segments switch
    {
        ["openapi", "v2"] => OpenApiEndpoints.WriteV2Async(context, documents.Value),
        ["openapi", "v3"] => OpenApiEndpoints.WriteIndexAsync(context, documents.Value),
        ["openapi", "v3", .. var rest] => OpenApiEndpoints.WriteGroupVersionAsync(context, documents.Value, string.Join('/', rest)),
        _ => throw ApiException.NotFoundPath(),
    };
}
