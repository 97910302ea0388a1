namespace Verge.Core.Meta;

/// <summary>metav1.Status: the body of every error response, and of some successful deletes.</summary>
public sealed class Status
{
    public string ApiVersion { get; set; } = "v1";

    public string Kind { get; set; } = "Status";

    public ListMeta Metadata { get; set; } = new();

    /// <summary>"Success" or "Failure" (the JSON field <c>status</c>).</summary>
    [System.Text.Json.Serialization.JsonPropertyName("status")]
    public string? Outcome { get; set; }

    public string? Message { get; set; }

    /// <summary>A machine-readable reason: NotFound, AlreadyExists, Conflict, Invalid, BadRequest, ...</summary>
    public string? Reason { get; set; }

    public StatusDetails? Details { get; set; }

    public int Code { get; set; }
}

/// <summary>metav1.StatusDetails.</summary>
public sealed class StatusDetails
{
    public string? Name { get; set; }

    public string? Group { get; set; }

    public string? Kind { get; set; }

    public string? Uid { get; set; }

    public List<StatusCause>? Causes { get; set; }

    public int? RetryAfterSeconds { get; set; }
}

/// <summary>metav1.StatusCause: one reason a request failed, usually one invalid field.</summary>
public sealed class StatusCause
{
    /// <summary>FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueDuplicate, ...</summary>
    public string? Reason { get; set; }

    public string? Message { get; set; }

    /// <summary>The field path, such as <c>spec.template.spec.containers[0].image</c>.</summary>
    public string? Field { get; set; }
}
