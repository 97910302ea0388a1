using Microsoft.AspNetCore.Http;

namespace Verge.ApiServer.Http;

/// <summary>What a response is rendered as, chosen from the Accept header.</summary>
internal enum ResponseShape
{
    Object,
    Table,
}

/// <summary>Content negotiation for API responses.</summary>
internal static class MediaTypes
{
    public static ResponseShape Negotiate(HttpRequest request)
    {
        var accept = request.Headers.Accept.ToString();
        if (accept.Length == 0)
        {
            return ResponseShape.Object;
        }

        foreach (var range in accept.Split(','))
        {
            var parts = range.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0)
            {
                continue;
            }

            var media = parts[0].ToLowerInvariant();
            string? asKind = null;
            string? group = null;
            foreach (var p in parts.Skip(1))
            {
                var kv = p.Split('=', 2);
                if (kv.Length == 2)
                {
                    switch (kv[0])
                    {
                        case "as":
                            asKind = kv[1];
                            break;
                        case "g":
                            group = kv[1];
                            break;
                    }
                }
            }

            if (media is not ("application/json" or "*/*" or "application/*"))
            {
                continue;
            }

            if (asKind is null)
            {
                return ResponseShape.Object;
            }

            if (asKind == "Table" && group == "meta.k8s.io")
            {
                return ResponseShape.Table;
            }
        }

        throw ApiException.NotAcceptable(accept);
    }
}
