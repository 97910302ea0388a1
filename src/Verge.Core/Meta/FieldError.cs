namespace Verge.Core.Meta;

/// <summary>The kinds of field error, named as Kubernetes names them in <c>StatusCause.reason</c>.</summary>
public enum FieldErrorType
{
    /// <summary>FieldValueRequired: "Required value".</summary>
    Required,

    /// <summary>FieldValueInvalid: "Invalid value".</summary>
    Invalid,

    /// <summary>FieldValueNotSupported: "Unsupported value".</summary>
    NotSupported,

    /// <summary>FieldValueDuplicate: "Duplicate value".</summary>
    Duplicate,

    /// <summary>FieldValueForbidden: "Forbidden".</summary>
    Forbidden,

    /// <summary>FieldValueTooLong: "Too long".</summary>
    TooLong,

    /// <summary>FieldValueTooMany: "Too many".</summary>
    TooMany,

    /// <summary>FieldValueNotFound: "Not found".</summary>
    NotFound,
}

/// <summary>
/// One invalid field, as Kubernetes' field.Error: a path such as <c>spec.template.spec.containers[0].image</c>, a
/// type, the bad value and a detail. <see cref="ToString"/> renders it exactly as the API server does, for example
/// <c>spec.replicas: Invalid value: -1: must be greater than or equal to 0</c>.
/// </summary>
public sealed record FieldError(string Field, FieldErrorType Type, string Detail, string? BadValue = null)
{
    /// <summary>The <c>StatusCause.reason</c> string.</summary>
    public string Reason => Type switch
    {
        FieldErrorType.Required => "FieldValueRequired",
        FieldErrorType.Invalid => "FieldValueInvalid",
        FieldErrorType.NotSupported => "FieldValueNotSupported",
        FieldErrorType.Duplicate => "FieldValueDuplicate",
        FieldErrorType.Forbidden => "FieldValueForbidden",
        FieldErrorType.TooLong => "FieldValueTooLong",
        FieldErrorType.TooMany => "FieldValueTooMany",
        FieldErrorType.NotFound => "FieldValueNotFound",
        _ => "FieldValueInvalid",
    };

    /// <summary>The human text of the type, as Kubernetes prints it.</summary>
    public string TypeText => Type switch
    {
        FieldErrorType.Required => "Required value",
        FieldErrorType.Invalid => "Invalid value",
        FieldErrorType.NotSupported => "Unsupported value",
        FieldErrorType.Duplicate => "Duplicate value",
        FieldErrorType.Forbidden => "Forbidden",
        FieldErrorType.TooLong => "Too long",
        FieldErrorType.TooMany => "Too many",
        FieldErrorType.NotFound => "Not found",
        _ => "Invalid value",
    };

    /// <summary>The message without the field path (as in <c>StatusCause.message</c>).</summary>
    public string Message => Type switch
    {
        FieldErrorType.Required or FieldErrorType.Forbidden or FieldErrorType.TooLong or FieldErrorType.TooMany
            => string.IsNullOrEmpty(Detail) ? TypeText : $"{TypeText}: {Detail}",
        _ => BadValue is null
            ? $"{TypeText}: {Detail}"
            : string.IsNullOrEmpty(Detail) ? $"{TypeText}: {BadValue}" : $"{TypeText}: {BadValue}: {Detail}",
    };

    public override string ToString() => $"{Field}: {Message}";

    public static FieldError Required(string field, string detail = "") => new(field, FieldErrorType.Required, detail);

    /// <summary>An invalid value; <paramref name="badValue"/> is rendered as Go's %#v would (strings quoted).</summary>
    public static FieldError Invalid(string field, object? badValue, string detail) =>
        new(field, FieldErrorType.Invalid, detail, Render(badValue));

    public static FieldError NotSupported(string field, object? badValue, IEnumerable<string> supported) =>
        new(field, FieldErrorType.NotSupported, "supported values: " + string.Join(", ", supported.Select(s => $"\"{s}\"")), Render(badValue));

    public static FieldError Duplicate(string field, object? badValue) => new(field, FieldErrorType.Duplicate, "", Render(badValue));

    public static FieldError Forbidden(string field, string detail) => new(field, FieldErrorType.Forbidden, detail);

    /// <summary>A reference to something that does not exist, such as a volumeMount naming no volume.</summary>
    public static FieldError NotFound(string field, object? badValue) => new(field, FieldErrorType.NotFound, "", Render(badValue));

    /// <summary>A value longer than <paramref name="maxLength"/> bytes, as Kubernetes' field.TooLong words it.</summary>
    public static FieldError TooLong(string field, int maxLength) =>
        new(field, FieldErrorType.TooLong, maxLength == 1 ? "may not be more than 1 byte" : $"may not be more than {maxLength} bytes");

    private static string Render(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };
}
