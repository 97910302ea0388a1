using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Core.Validation;

/// <summary>Validation of the core/v1 kinds other than Pod.</summary>
public static class CoreValidation
{
    /// <summary>The most bytes the data of one ConfigMap or Secret may take (1 MiB).</summary>
    public const int MaxDataSize = 1024 * 1024;

    private static readonly string[] NamespacePhases = ["Active", "Terminating"];

    public static List<FieldError> ValidateNamespace(Namespace ns, Namespace? old)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var errors = new List<FieldError>();
        MetadataValidation.ValidateFinalizers(ns.Spec?.Finalizers, "spec.finalizers", errors);
        if (ns.Status?.Phase is { Length: > 0 } phase && !NamespacePhases.Contains(phase))
        {
            errors.Add(FieldError.NotSupported("status.phase", phase, NamespacePhases));
        }

        return errors;
    }

    public static List<FieldError> ValidateNode(Node node, Node? old)
    {
        ArgumentNullException.ThrowIfNull(node);
        var errors = new List<FieldError>();
        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < (node.Spec.Taints?.Count ?? 0); i++)
        {
            var taint = node.Spec.Taints![i];
            var path = $"spec.taints[{i}]";
            foreach (var message in NameValidation.IsQualifiedName(taint.Key))
            {
                errors.Add(FieldError.Invalid($"{path}.key", taint.Key, message));
            }

            if (!string.IsNullOrEmpty(taint.Value))
            {
                foreach (var message in NameValidation.IsValidLabelValue(taint.Value))
                {
                    errors.Add(FieldError.Invalid($"{path}.value", taint.Value, message));
                }
            }

            PodValidation.ValidateTaintEffect(taint.Effect, allowEmpty: false, $"{path}.effect", errors);
            if (!seen.Add((taint.Key, taint.Effect)))
            {
                errors.Add(FieldError.Duplicate(path, new GoValue($"{taint.Key}:{taint.Effect}")));
            }
        }

        foreach (var (field, values) in new[] { ("capacity", node.Status?.Capacity), ("allocatable", node.Status?.Allocatable) })
        {
            foreach (var (name, quantity) in (values ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                PodValidation.ValidateQuantity(quantity, $"status.{field}[{name}]", errors);
            }
        }

        if (old is not null && !string.IsNullOrEmpty(old.Spec.ProviderID) && node.Spec.ProviderID != old.Spec.ProviderID)
        {
            errors.Add(FieldError.Forbidden("spec.providerID", "node updates may not change providerID except from \"\" to valid"));
        }

        return errors;
    }

    public static List<FieldError> ValidateConfigMap(ConfigMap configMap, ConfigMap? old)
    {
        ArgumentNullException.ThrowIfNull(configMap);
        var errors = new List<FieldError>();
        long size = 0;
        foreach (var (key, value) in (configMap.Data ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var message in NameValidation.IsConfigMapKey(key))
            {
                errors.Add(FieldError.Invalid($"data[{key}]", key, message));
            }

            size += System.Text.Encoding.UTF8.GetByteCount(value);
        }

        foreach (var (key, value) in (configMap.BinaryData ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var message in NameValidation.IsConfigMapKey(key))
            {
                errors.Add(FieldError.Invalid($"binaryData[{key}]", key, message));
            }

            if (configMap.Data?.ContainsKey(key) == true)
            {
                errors.Add(FieldError.Invalid($"binaryData[{key}]", key, "duplicate of key present in data"));
            }

            size += value.Length;
        }

        if (size > MaxDataSize)
        {
            errors.Add(FieldError.TooLong("", MaxDataSize));
        }

        if (old?.Immutable == true)
        {
            if (configMap.Immutable != true)
            {
                errors.Add(FieldError.Forbidden("immutable", "field is immutable when `immutable` is set"));
            }

            if (!MapEqual(configMap.Data, old.Data) || !BytesMapEqual(configMap.BinaryData, old.BinaryData))
            {
                errors.Add(FieldError.Forbidden("data", "field is immutable when `immutable` is set"));
            }
        }

        return errors;
    }

    public static List<FieldError> ValidateSecret(Secret secret, Secret? old)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var errors = new List<FieldError>();
        long size = 0;
        foreach (var (key, value) in (secret.Data ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var message in NameValidation.IsConfigMapKey(key))
            {
                errors.Add(FieldError.Invalid($"data[{key}]", key, message));
            }

            size += value.Length;
        }

        if (size > MaxDataSize)
        {
            errors.Add(FieldError.TooLong("data", MaxDataSize));
        }

        switch (secret.Type)
        {
            case "kubernetes.io/dockerconfigjson" when secret.Data?.ContainsKey(".dockerconfigjson") != true:
                errors.Add(FieldError.Required("data[.dockerconfigjson]"));
                break;
            case "kubernetes.io/tls" when secret.Data?.ContainsKey("tls.crt") != true || secret.Data?.ContainsKey("tls.key") != true:
                errors.Add(FieldError.Required(secret.Data?.ContainsKey("tls.crt") != true ? "data[tls.crt]" : "data[tls.key]"));
                break;
            case "kubernetes.io/basic-auth" when secret.Data?.ContainsKey("username") != true && secret.Data?.ContainsKey("password") != true:
                errors.Add(FieldError.Required("data[username]"));
                break;
            default:
                break;
        }

        if (old is not null)
        {
            if ((secret.Type ?? "") != (old.Type ?? ""))
            {
                errors.Add(FieldError.Invalid("type", secret.Type ?? "", "field is immutable"));
            }

            if (old.Immutable == true)
            {
                if (secret.Immutable != true)
                {
                    errors.Add(FieldError.Forbidden("immutable", "field is immutable when `immutable` is set"));
                }

                if (!BytesMapEqual(secret.Data, old.Data))
                {
                    errors.Add(FieldError.Forbidden("data", "field is immutable when `immutable` is set"));
                }
            }
        }

        return errors;
    }

    public static List<FieldError> ValidateEvent(Event ev, string? objectNamespace)
    {
        ArgumentNullException.ThrowIfNull(ev);
        var errors = new List<FieldError>();
        var involvedNamespace = ev.InvolvedObject.Namespace ?? "";
        var eventNamespace = objectNamespace ?? ev.Metadata.Namespace ?? "";
        if (involvedNamespace.Length == 0)
        {
            if (eventNamespace != "default" && eventNamespace.Length > 0 && ev.InvolvedObject.Kind is not ("Node" or "Namespace"))
            {
                errors.Add(FieldError.Invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"));
            }
        }
        else if (involvedNamespace != eventNamespace)
        {
            errors.Add(FieldError.Invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"));
        }

        if (ev.Type is { Length: > 0 } type && type is not ("Normal" or "Warning"))
        {
            errors.Add(FieldError.NotSupported("type", type, ["Normal", "Warning"]));
        }

        if (ev.Count is < 0)
        {
            errors.Add(FieldError.Invalid("count", ev.Count.Value, "must be greater than or equal to 0"));
        }

        return errors;
    }

    private static bool MapEqual(Dictionary<string, string>? a, Dictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? []).All(p => b!.TryGetValue(p.Key, out var v) && v == p.Value);

    private static bool BytesMapEqual(Dictionary<string, byte[]>? a, Dictionary<string, byte[]>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? []).All(p => b!.TryGetValue(p.Key, out var v) && v.AsSpan().SequenceEqual(p.Value));
}
