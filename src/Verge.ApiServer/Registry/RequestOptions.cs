using Microsoft.AspNetCore.Http;
using Verge.Core.Meta;

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
        ValidateFieldManager(manager, request.Method);

        var force = query["force"].ToString() switch
        {
            "" or "0" => false,
            "1" => true,
            var text when text.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
            var text when text.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
            var other => throw Http.ApiException.BadRequest($"invalid force parameter \"{other}\": must be true or false"),
        };
        return new WriteOptions(dryRun.Length > 0, manager.Length > 0 ? manager : defaultManager, validation, force);
    }

    /// <summary>
    /// Kubernetes' ValidateFieldManager: at most 128 bytes of UTF-8, all printable. Either is a 422 for the write's
    /// options kind (CreateOptions, UpdateOptions, PatchOptions), as Kubernetes answers.
    /// </summary>
    private static void ValidateFieldManager(string manager, string method)
    {
        const int MaxBytes = 128;
        var errors = new List<FieldError>();
        if (System.Text.Encoding.UTF8.GetByteCount(manager) > MaxBytes)
        {
            errors.Add(FieldError.TooLong("fieldManager", MaxBytes));
        }

        // Offsets in bytes, as Go's range over a string gives them.
        var offset = 0;
        foreach (var rune in manager.EnumerateRunes())
        {
            if (System.Text.Rune.IsControl(rune) || System.Text.Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator
                or System.Globalization.UnicodeCategory.Surrogate or System.Globalization.UnicodeCategory.PrivateUse
                or System.Globalization.UnicodeCategory.OtherNotAssigned
                || (System.Text.Rune.IsWhiteSpace(rune) && rune.Value != ' '))
            {
                errors.Add(FieldError.Invalid("fieldManager", manager, $"invalid characters at offset {offset}"));
            }

            offset += rune.Utf8SequenceLength;
        }

        if (errors.Count > 0)
        {
            var kind = method switch
            {
                "POST" => "CreateOptions",
                "PUT" => "UpdateOptions",
                _ => "PatchOptions",
            };
            throw Http.ApiException.Invalid("meta.k8s.io", kind, "", errors);
        }
    }

    /// <summary>
    /// What Kubernetes' ValidatePatchOptions checks of a patch's type, before its body is read: <c>force</c> belongs
    /// to apply patches alone (on another patch it is refused whatever its value, <c>false</c> included), and an
    /// apply patch must name its <c>fieldManager</c>. Either is a 422 for PatchOptions, as Kubernetes answers.
    /// </summary>
    public static void ValidatePatch(IQueryCollection query, bool apply)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = new List<FieldError>();
        if (!apply && query.ContainsKey("force"))
        {
            errors.Add(FieldError.Forbidden("force", "may not be specified for non-apply patch"));
        }

        if (apply && string.IsNullOrEmpty(query["fieldManager"]))
        {
            errors.Add(FieldError.Required("fieldManager", "is required for apply patch"));
        }

        if (errors.Count > 0)
        {
            throw Http.ApiException.Invalid("meta.k8s.io", "PatchOptions", "", errors);
        }
    }
}
