using Verge.Core.Meta;

namespace Verge.Core.Validation;

/// <summary>Validation of <see cref="ObjectMeta"/> as Kubernetes' ValidateObjectMeta does it.</summary>
public static class MetadataValidation
{
    /// <summary>The most bytes all annotations (keys and values) of one object may take.</summary>
    public const int TotalAnnotationSizeLimit = 256 * 1024;

    /// <summary>
    /// Validates the metadata of an object under <c>metadata</c>: name (or generateName) as a DNS-1123 subdomain, or
    /// a DNS-1123 label when <paramref name="nameIsDnsLabel"/>; namespace required for namespaced kinds and
    /// forbidden otherwise; generation, labels, annotations, owner references and finalizers.
    /// </summary>
    public static List<FieldError> Validate(ObjectMeta meta, bool namespaced, bool nameIsDnsLabel)
    {
        ArgumentNullException.ThrowIfNull(meta);
        var errors = new List<FieldError>();
        Func<string, List<string>> nameRule = nameIsDnsLabel ? NameValidation.IsDns1123Label : NameValidation.IsDns1123Subdomain;
        if (!string.IsNullOrEmpty(meta.GenerateName))
        {
            foreach (var message in nameRule(MaskTrailingDash(meta.GenerateName)))
            {
                errors.Add(FieldError.Invalid("metadata.generateName", meta.GenerateName, message));
            }
        }

        if (string.IsNullOrEmpty(meta.Name))
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required"));
        }
        else
        {
            foreach (var message in nameRule(meta.Name))
            {
                errors.Add(FieldError.Invalid("metadata.name", meta.Name, message));
            }
        }

        if (namespaced)
        {
            if (string.IsNullOrEmpty(meta.Namespace))
            {
                errors.Add(FieldError.Required("metadata.namespace"));
            }
            else
            {
                foreach (var message in NameValidation.IsDns1123Label(meta.Namespace))
                {
                    errors.Add(FieldError.Invalid("metadata.namespace", meta.Namespace, message));
                }
            }
        }
        else if (!string.IsNullOrEmpty(meta.Namespace))
        {
            errors.Add(FieldError.Forbidden("metadata.namespace", "not allowed on this type"));
        }

        if (meta.Generation is < 0)
        {
            errors.Add(FieldError.Invalid("metadata.generation", meta.Generation.Value, "must be greater than or equal to 0"));
        }

        ValidateLabels(meta.Labels, "metadata.labels", errors);
        ValidateAnnotations(meta.Annotations, "metadata.annotations", errors);
        ValidateOwnerReferences(meta.OwnerReferences, errors);
        ValidateFinalizers(meta.Finalizers, "metadata.finalizers", errors);
        return errors;
    }

    /// <summary>Label keys are qualified names and values label values; errors carry the map's path.</summary>
    public static void ValidateLabels(IReadOnlyDictionary<string, string>? labels, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (labels is null)
        {
            return;
        }

        foreach (var (key, value) in labels.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var message in NameValidation.IsQualifiedName(key))
            {
                errors.Add(FieldError.Invalid(path, key, message));
            }

            foreach (var message in NameValidation.IsValidLabelValue(value))
            {
                errors.Add(FieldError.Invalid(path, value, message));
            }
        }
    }

    public static void ValidateLabels(Dictionary<string, string>? labels, string path, List<FieldError> errors) =>
        ValidateLabels((IReadOnlyDictionary<string, string>?)labels, path, errors);

    /// <summary>Annotation keys are qualified names (case-insensitively); all of them take at most 256 KiB.</summary>
    public static void ValidateAnnotations(Dictionary<string, string>? annotations, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (annotations is null)
        {
            return;
        }

        long size = 0;
        foreach (var (key, value) in annotations.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var message in NameValidation.IsQualifiedName(key.ToLowerInvariant()))
            {
                errors.Add(FieldError.Invalid(path, key, message));
            }

            size += System.Text.Encoding.UTF8.GetByteCount(key) + System.Text.Encoding.UTF8.GetByteCount(value);
        }

        if (size > TotalAnnotationSizeLimit)
        {
            errors.Add(FieldError.TooLong(path, TotalAnnotationSizeLimit));
        }
    }

    private static void ValidateOwnerReferences(List<OwnerReference>? references, List<FieldError> errors)
    {
        if (references is null)
        {
            return;
        }

        var controllers = 0;
        for (var i = 0; i < references.Count; i++)
        {
            var reference = references[i];
            var path = $"metadata.ownerReferences[{i}]";
            if (string.IsNullOrEmpty(reference.ApiVersion))
            {
                errors.Add(FieldError.Invalid($"{path}.apiVersion", reference.ApiVersion, "version must not be empty"));
            }

            if (string.IsNullOrEmpty(reference.Kind))
            {
                errors.Add(FieldError.Invalid($"{path}.kind", reference.Kind, "must not be empty"));
            }

            if (string.IsNullOrEmpty(reference.Name))
            {
                errors.Add(FieldError.Invalid($"{path}.name", reference.Name, "must not be empty"));
            }

            if (string.IsNullOrEmpty(reference.Uid))
            {
                errors.Add(FieldError.Invalid($"{path}.uid", reference.Uid, "must not be empty"));
            }

            if (reference.Controller == true)
            {
                controllers++;
            }
        }

        if (controllers > 1)
        {
            errors.Add(FieldError.Invalid("metadata.ownerReferences", new GoValue($"{controllers} controllers"), "Only one reference can have Controller set to true"));
        }
    }

    /// <summary>Finalizers are qualified names.</summary>
    public static void ValidateFinalizers(List<string>? finalizers, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var finalizer in finalizers ?? [])
        {
            foreach (var message in NameValidation.IsQualifiedName(finalizer))
            {
                errors.Add(FieldError.Invalid(path, finalizer, message));
            }
        }
    }

    /// <summary>A generateName may end in '-': it is checked as if a letter followed.</summary>
    private static string MaskTrailingDash(string name) =>
        name.Length > 1 && name[^1] == '-' ? name[..^1] + "a" : name;
}
