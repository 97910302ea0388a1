using Microsoft.AspNetCore.Http;
using Verge.ApiServer.OpenApi;

namespace Verge.ApiServer.Tests.OpenApi;

public sealed class OpenApiEndpointsTests
{
    private static readonly OpenApiDocuments Documents = OpenApiDocuments.Build(TestCatalog.Types);

    private static DefaultHttpContext Request(string query = "", string? accept = null, string? ifNoneMatch = null)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString(query);
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        if (ifNoneMatch is not null)
        {
            context.Request.Headers.IfNoneMatch = ifNoneMatch;
        }

        context.Response.Body = new MemoryStream();
        return context;
    }

    private static byte[] Body(HttpContext context) => ((MemoryStream)context.Response.Body).ToArray();

    [Fact]
    public async Task GroupVersion_WithCurrentHash_ServesImmutableJson()
    {
        var document = Documents.GroupVersions["apis/apps/v1"];
        var context = Request($"?hash={document.Hash}", accept: "application/json");

        await OpenApiEndpoints.WriteGroupVersionAsync(context, Documents, "apis/apps/v1");

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("application/json", context.Response.ContentType);
        Assert.Equal(document.ETag, context.Response.Headers.ETag.ToString());
        Assert.Contains("immutable", context.Response.Headers.CacheControl.ToString());
        Assert.Equal(document.Utf8Json, Body(context));
    }

    [Fact]
    public async Task GroupVersion_WithStaleHash_RedirectsToTheCurrentHash()
    {
        var context = Request("?hash=0123", accept: "application/json");

        await OpenApiEndpoints.WriteGroupVersionAsync(context, Documents, "apis/apps/v1");

        Assert.Equal(301, context.Response.StatusCode);
        Assert.Equal($"/openapi/v3/apis/apps/v1?hash={Documents.GroupVersions["apis/apps/v1"].Hash}", context.Response.Headers.Location.ToString());
    }

    [Fact]
    public async Task GroupVersion_WhenIfNoneMatchIsCurrent_ReturnsNotModified()
    {
        var context = Request(ifNoneMatch: Documents.GroupVersions["api/v1"].ETag);

        await OpenApiEndpoints.WriteGroupVersionAsync(context, Documents, "api/v1");

        Assert.Equal(304, context.Response.StatusCode);
        Assert.Empty(Body(context));
    }

    [Fact]
    public async Task GroupVersion_WhenOnlyProtobufIsAccepted_ReturnsNotAcceptable()
    {
        var context = Request(accept: "application/com.github.proto-openapi.spec.v3.v1.0+protobuf");

        await OpenApiEndpoints.WriteGroupVersionAsync(context, Documents, "api/v1");

        Assert.Equal(406, context.Response.StatusCode);
    }

    [Fact]
    public async Task GroupVersion_WhenUnknown_ReturnsNotFound()
    {
        var context = Request();

        await OpenApiEndpoints.WriteGroupVersionAsync(context, Documents, "apis/batch/v1");

        Assert.Equal(404, context.Response.StatusCode);
    }

    [Fact]
    public async Task Index_ServesJsonWithETag_WithoutImmutableCaching()
    {
        var context = Request(accept: "application/json, */*");

        await OpenApiEndpoints.WriteIndexAsync(context, Documents);

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(Documents.Index.ETag, context.Response.Headers.ETag.ToString());
        Assert.Equal(string.Empty, context.Response.Headers.CacheControl.ToString());
        Assert.Equal(Documents.Index.Utf8Json, Body(context));
    }

    [Fact]
    public async Task V2_WhenKubectlAsksForProtobuf_ReturnsNotAcceptable_AndServesJsonOtherwise()
    {
        var protobuf = Request(accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
        var json = Request(accept: "application/json");

        await OpenApiEndpoints.WriteV2Async(protobuf, Documents);
        await OpenApiEndpoints.WriteV2Async(json, Documents);

        Assert.Equal(406, protobuf.Response.StatusCode);
        Assert.Equal(200, json.Response.StatusCode);
        Assert.Equal(Documents.V2.Utf8Json, Body(json));
    }
}
