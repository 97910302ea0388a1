using System.Text.RegularExpressions;
using Verge.Core.Meta;

namespace Verge.Core.Validation;

/// <summary>Validation of metav1.Condition lists, as Kubernetes' ValidateConditions does it.</summary>
public static partial class ConditionValidation
{
    private const int MaxReasonLength = 1024;
    private const int MaxMessageLength = 32768;

    private const string ReasonError =
        "a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'";

    public static void ValidateConditions(IReadOnlyList<Condition>? conditions, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (conditions?.Count ?? 0); i++)
        {
            var condition = conditions![i];
            var itemPath = $"{path}[{i}]";
            if (!seen.Add(condition.Type))
            {
                errors.Add(FieldError.Duplicate($"{itemPath}.type", condition.Type));
            }

            foreach (var message in NameValidation.IsQualifiedName(condition.Type))
            {
                errors.Add(FieldError.Invalid($"{itemPath}.type", condition.Type, message));
            }

            if (condition.Status is not ("True" or "False" or "Unknown"))
            {
                errors.Add(FieldError.NotSupported($"{itemPath}.status", condition.Status, ["False", "True", "Unknown"]));
            }

            if (condition.ObservedGeneration < 0)
            {
                errors.Add(FieldError.Invalid($"{itemPath}.observedGeneration", condition.ObservedGeneration, "must be greater than or equal to zero"));
            }

            if (condition.LastTransitionTime is null)
            {
                errors.Add(FieldError.Required($"{itemPath}.lastTransitionTime", "must be set"));
            }

            if (string.IsNullOrEmpty(condition.Reason))
            {
                errors.Add(FieldError.Required($"{itemPath}.reason", "must be set"));
            }
            else
            {
                if (!ReasonRegex().IsMatch(condition.Reason))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.reason", condition.Reason, ReasonError));
                }

                if (condition.Reason.Length > MaxReasonLength)
                {
                    errors.Add(FieldError.TooLong($"{itemPath}.reason", MaxReasonLength));
                }
            }

            if (condition.Message?.Length > MaxMessageLength)
            {
                errors.Add(FieldError.TooLong($"{itemPath}.message", MaxMessageLength));
            }
        }
    }

    [GeneratedRegex("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")]
    private static partial Regex ReasonRegex();
}
