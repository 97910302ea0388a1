using System.Text.Json.Nodes;

namespace Verge.Cli.Client;

/// <summary>A request the server refused, carrying its Kubernetes Status (code, reason, message).</summary>
internal sealed class ApiStatusException : Exception
{
    public ApiStatusException(int code, string reason, string message)
        : base(message)
    {
        Code = code;
        Reason = reason;
    }

    public ApiStatusException()
    {
        Reason = "Unknown";
    }

    public ApiStatusException(string message)
        : base(message)
    {
        Reason = "Unknown";
    }

    public ApiStatusException(string message, Exception inner)
        : base(message, inner)
    {
        Reason = "Unknown";
    }

    public int Code { get; }

    public string Reason { get; }

    public bool IsNotFound => Code == 404;

    /// <summary>The line kubectl prints for a server error.</summary>
    public string ToErrorLine() => $"Error from server ({Reason}): {Message}";

    /// <summary>Reads a Status body, falling back to the HTTP status when the body is not one.</summary>
    public static ApiStatusException FromResponse(int code, string body)
    {
        string? reason = null;
        string? message = null;
        try
        {
            if (JsonNode.Parse(body) is JsonObject status && status["kind"]?.GetValue<string>() == "Status")
            {
                reason = status["reason"]?.GetValue<string>();
                message = status["message"]?.GetValue<string>();
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        catch (InvalidOperationException)
        {
        }

        reason = string.IsNullOrEmpty(reason) ? DefaultReason(code) : reason;
        if (string.IsNullOrEmpty(message))
        {
            message = string.IsNullOrWhiteSpace(body) ? $"the server responded with status {code}" : body.Trim();
        }

        return new ApiStatusException(code, reason, message);
    }

    private static string DefaultReason(int code) => code switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
}
