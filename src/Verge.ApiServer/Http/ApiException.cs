using Verge.Core.Meta;

namespace Verge.ApiServer.Http;

/// <summary>
/// An error that becomes a Kubernetes <c>Status</c> response: code, reason, message and details, built by the
/// factory methods with the same wording as the Kubernetes API server so that kubectl prints familiar lines.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException(int code, string reason, string message, StatusDetails? details = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
    }

    public int Code { get; }

    public string Reason { get; }

    public StatusDetails? Details { get; }

    public Status ToStatus() => new()
    {
        Outcome = "Failure",
        Message = Message,
        Reason = Reason.Length == 0 ? null : Reason,
        Details = Details,
        Code = Code,
    };

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiException Unauthorized() => new(401, "Unauthorized", "Unauthorized");

    public static ApiException Forbidden(
        string user, string verb, ResourceType? type, string? ns, string? name = null, string? subresource = null, string? reason = null)
    {
        var plural = type is null ? null : subresource is null ? type.Plural : $"{type.Plural}/{subresource}";
        var resource = type is null ? "" : $"resource \"{plural}\" in API group \"{type.Group}\"";
        var scope = ns is null ? " at the cluster scope" : $" in the namespace \"{ns}\"";
        var what = name is null ? "" : $" \"{name}\"";
        var why = reason is null ? "" : ": " + reason;
        return new(403, "Forbidden", $"{type?.GroupResource ?? "resource"}{what} is forbidden: User \"{user}\" cannot {verb} {resource}{scope}{why}",
            new StatusDetails { Name = name, Group = type?.Group, Kind = type?.Plural });
    }

    public static ApiException NotFound(ResourceType type, string name) =>
        new(404, "NotFound", $"{type.GroupResource} \"{name}\" not found",
            new StatusDetails { Name = name, Group = type.Group, Kind = type.Plural });

    public static ApiException NotFoundPath() => new(404, "NotFound", "the server could not find the requested resource");

    public static ApiException MethodNotAllowed(string method) =>
        new(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource ({method})");

    public static ApiException AlreadyExists(ResourceType type, string name) =>
        new(409, "AlreadyExists", $"{type.GroupResource} \"{name}\" already exists",
            new StatusDetails { Name = name, Group = type.Group, Kind = type.Plural });

    public static ApiException Conflict(ResourceType type, string name, string detail) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {type.GroupResource} \"{name}\": {detail}",
            new StatusDetails { Name = name, Group = type.Group, Kind = type.Plural });

    public static ApiException Modified(ResourceType type, string name) =>
        Conflict(type, name, "the object has been modified; please apply your changes to the latest version and try again");

    public static ApiException Gone(string message) => new(410, "Expired", message);

    public static ApiException TooLarge(long limit) =>
        new(413, "RequestEntityTooLarge", $"the request body is too large: limit is {limit} bytes");

    public static ApiException UnsupportedMediaType(string? contentType, bool patch = false) =>
        new(415, "UnsupportedMediaType", patch
            ? $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml{(contentType is null ? "" : "; got " + contentType)}"
            : $"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml{(contentType is null ? "" : "; got " + contentType)}");

    public static ApiException NotAcceptable(string accept) =>
        new(406, "NotAcceptable", $"only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io; got {accept}");

    public static ApiException Invalid(ResourceType type, string name, IReadOnlyList<FieldError> errors) =>
        Invalid(type.Group, type.Kind, name, errors);

    /// <summary>A 422 for an object that is no stored kind, such as the PatchOptions of a request.</summary>
    public static ApiException Invalid(string group, string kind, string name, IReadOnlyList<FieldError> errors)
    {
        var list = errors.Count == 1 ? errors[0].ToString() : "[" + string.Join(", ", errors) + "]";
        var groupKind = group.Length == 0 ? kind : $"{kind}.{group}";
        return new(422, "Invalid", $"{groupKind} \"{name}\" is invalid: {list}", new StatusDetails
        {
            Name = name,
            Group = group,
            Kind = kind,
            Causes = errors.Select(e => new StatusCause { Reason = e.Reason, Message = e.Message, Field = e.Field }).ToList(),
        });
    }

    public static ApiException Unprocessable(string message) => new(422, "Invalid", message);

    public static ApiException Internal(string message) => new(500, "InternalError", $"Internal error occurred: {message}");

    public static ApiException Timeout(string message) => new(504, "Timeout", message);
}
