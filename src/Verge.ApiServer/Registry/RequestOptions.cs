using Microsoft.AspNetCore.Http;

namespace Verge.ApiServer.Registry;

/// <summary>How unknown fields in a request body are treated (Kubernetes' <c>fieldValidation</c>).</summary>
internal enum FieldValidation
{
    Ignore,
    Warn,
    Strict,
}

/// <summary>The options of a write (create, update, patch): the query parameters Kubernetes defines for writes.</summary>
internal sealed record WriteOptions(bool DryRun, string FieldManager, FieldValidation Validation, bool Force)
{
    public static WriteOptions From(HttpRequest request, string defaultManager)
    {
        var query = request.Query;
        var dryRun = query["dryRun"].ToString();
        if (dryRun.Length > 0 && dryRun != "All")
        {
            throw Http.ApiException.BadRequest($"Invalid dry run value: {dryRun}; the only supported value is \"All\"");
        }

        var validation = query["fieldValidation"].ToString() switch
        {
            "" or "Warn" => FieldValidation.Warn,
            "Strict" => FieldValidation.Strict,
            "Ignore" => FieldValidation.Ignore,
            var other => throw Http.ApiException.BadRequest(
                $"fieldValidation parameter unsupported: {other}; valid values are Ignore, Warn and Strict"),
        };
        var manager = query["fieldManager"].ToString();
        if (manager.Length > 128)
        {
            throw Http.ApiException.BadRequest("fieldManager: Too long: may not be more than 128 characters");
        }

        var force = query["force"].ToString() switch
        {
            "true" or "1" => true,
            "" or "false" or "0" => false,
            var other => throw Http.ApiException.BadRequest($"invalid force parameter \"{other}\": must be true or false"),
        };
        return new WriteOptions(dryRun.Length > 0, manager.Length > 0 ? manager : defaultManager, validation, force);
    }
}
