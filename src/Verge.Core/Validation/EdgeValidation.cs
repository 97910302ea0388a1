using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.Core.Rules;

namespace Verge.Core.Validation;

/// <summary>Validation of Verge's edge.verge.dev/v1 kinds.</summary>
public static class EdgeValidation
{
    private static readonly string[] Protocols = ["http", "mqtt"];

    public static List<FieldError> ValidateSite(Site site, Site? old)
    {
        ArgumentNullException.ThrowIfNull(site);
        var errors = new List<FieldError>();
        if (site.Spec.Location is { } location)
        {
            if (location.Latitude is { } latitude && (latitude < -90 || latitude > 90 || double.IsNaN(latitude)))
            {
                errors.Add(FieldError.Invalid("spec.location.latitude", latitude, "must be between -90 and 90, inclusive"));
            }

            if (location.Longitude is { } longitude && (longitude < -180 || longitude > 180 || double.IsNaN(longitude)))
            {
                errors.Add(FieldError.Invalid("spec.location.longitude", longitude, "must be between -180 and 180, inclusive"));
            }
        }

        if (site.Spec.Failover?.NodeTimeoutSeconds is <= 0)
        {
            errors.Add(FieldError.Invalid("spec.failover.nodeTimeoutSeconds", site.Spec.Failover.NodeTimeoutSeconds.Value, "must be greater than 0"));
        }

        return errors;
    }

    public static List<FieldError> ValidateDevice(Device device, Device? old)
    {
        ArgumentNullException.ThrowIfNull(device);
        var errors = new List<FieldError>();
        var spec = device.Spec;
        if (string.IsNullOrEmpty(spec.Protocol))
        {
            errors.Add(FieldError.Required("spec.protocol"));
        }
        else if (!Protocols.Contains(spec.Protocol))
        {
            errors.Add(FieldError.NotSupported("spec.protocol", spec.Protocol, Protocols));
        }

        if (string.IsNullOrEmpty(spec.CredentialsSecret))
        {
            errors.Add(FieldError.Required("spec.credentialsSecret"));
        }
        else
        {
            Subdomain(spec.CredentialsSecret, "spec.credentialsSecret", errors);
        }

        if (!string.IsNullOrEmpty(spec.Site))
        {
            Subdomain(spec.Site, "spec.site", errors);
        }

        if (!string.IsNullOrEmpty(spec.NodeName))
        {
            Subdomain(spec.NodeName, "spec.nodeName", errors);
        }

        return errors;
    }

    public static List<FieldError> ValidateDataRule(DataRule rule, DataRule? old)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var errors = new List<FieldError>();
        var spec = rule.Spec;
        MetadataValidation.ValidateLabels(spec.NodeSelector, "spec.nodeSelector", errors);
        if (!string.IsNullOrEmpty(spec.Site))
        {
            Subdomain(spec.Site, "spec.site", errors);
        }

        if (string.IsNullOrWhiteSpace(spec.Statement))
        {
            errors.Add(FieldError.Required("spec.statement"));
        }
        else if (!RuleStatement.TryParse(spec.Statement, out _, out var syntax))
        {
            errors.Add(FieldError.Invalid("spec.statement", spec.Statement, syntax!.Message));
        }

        if (spec.Actions is not { Count: > 0 })
        {
            errors.Add(FieldError.Required("spec.actions", "at least one action is required"));
            return errors;
        }

        for (var i = 0; i < spec.Actions.Count; i++)
        {
            var action = spec.Actions[i];
            var path = $"spec.actions[{i}]";
            var kinds = (action.Republish is null ? 0 : 1) + (action.Upstream is null ? 0 : 1) + (action.Http is null ? 0 : 1);
            if (kinds == 0)
            {
                errors.Add(FieldError.Required(path, "must specify one of: `republish`, `upstream` or `http`"));
                continue;
            }

            if (kinds > 1)
            {
                errors.Add(FieldError.Forbidden(path, "may not specify more than one of `republish`, `upstream` or `http`"));
                continue;
            }

            if (action.Republish is { } republish)
            {
                ValidateTopic(republish, $"{path}.republish", errors);
            }
            else if (action.Upstream is { } upstream)
            {
                ValidateTopic(upstream, $"{path}.upstream", errors);
            }
            else if (action.Http is { } http)
            {
                ValidateHttp(http, $"{path}.http", errors);
            }
        }

        return errors;
    }

    private static void ValidateTopic(MqttTopicAction action, string path, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(action.Topic))
        {
            errors.Add(FieldError.Required($"{path}.topic"));
        }
        else if (action.Topic.Contains('+', StringComparison.Ordinal) || action.Topic.Contains('#', StringComparison.Ordinal))
        {
            errors.Add(FieldError.Invalid($"{path}.topic", action.Topic, "must not contain the wildcards '+' or '#'"));
        }

        if (action.Qos is { } qos and (< 0 or > 2))
        {
            errors.Add(FieldError.NotSupported($"{path}.qos", qos, ["0", "1", "2"]));
        }
    }

    private static void ValidateHttp(HttpAction http, string path, List<FieldError> errors)
    {
        var hasUrl = !string.IsNullOrEmpty(http.Url);
        if (hasUrl == (http.PodSelector is not null))
        {
            errors.Add(FieldError.Invalid(path, "", "must specify exactly one of: `url` or `podSelector`"));
        }

        if (hasUrl && (!Uri.TryCreate(http.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add(FieldError.Invalid($"{path}.url", http.Url, "must be an absolute http or https URL"));
        }

        if (hasUrl && http.PodSelector is null)
        {
            if (http.Port is not null)
            {
                errors.Add(FieldError.Forbidden($"{path}.port", "only with `podSelector` (the port is part of `url`)"));
            }

            if (!string.IsNullOrEmpty(http.Path))
            {
                errors.Add(FieldError.Forbidden($"{path}.path", "only with `podSelector` (the path is part of `url`)"));
            }
        }

        if (http.PodSelector is not null)
        {
            SelectorValidation.ValidateLabelSelector(http.PodSelector, $"{path}.podSelector", errors);
            if (http.PodSelector.IsEmpty)
            {
                errors.Add(FieldError.Required($"{path}.podSelector", "must select pods by label: an empty selector would pick every pod of the namespace"));
            }

            if (!string.IsNullOrEmpty(http.Path) && (http.Path[0] != '/' || !Uri.TryCreate("http://pod" + http.Path, UriKind.Absolute, out _)))
            {
                errors.Add(FieldError.Invalid($"{path}.path", http.Path, "must be an absolute path such as /ingest"));
            }

            if (http.Port is not { } port)
            {
                errors.Add(FieldError.Required($"{path}.port", "required with `podSelector`"));
            }
            else
            {
                foreach (var message in NameValidation.IsValidPortNumber(port))
                {
                    errors.Add(FieldError.Invalid($"{path}.port", port, message));
                }
            }
        }
    }

    private static void Subdomain(string value, string path, List<FieldError> errors)
    {
        foreach (var message in NameValidation.IsDns1123Subdomain(value))
        {
            errors.Add(FieldError.Invalid(path, value, message));
        }
    }
}
