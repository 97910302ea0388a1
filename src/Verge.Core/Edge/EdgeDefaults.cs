namespace Verge.Core.Edge;

/// <summary>Defaulting of Verge's edge.verge.dev/v1 kinds.</summary>
public static class EdgeDefaults
{
    public const int DefaultNodeTimeoutSeconds = 40;
    public const int DefaultQos = 1;

    public static void Site(Site site)
    {
        ArgumentNullException.ThrowIfNull(site);
        if (site.Spec?.Failover is { } failover)
        {
            failover.Enabled ??= false;
            failover.NodeTimeoutSeconds ??= DefaultNodeTimeoutSeconds;
        }
    }

    public static void DataRule(DataRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var spec = rule.Spec ??= new DataRuleSpec();
        spec.Enabled ??= true;
        foreach (var action in spec.Actions ?? [])
        {
            if (action.Republish is { } republish)
            {
                republish.Qos ??= DefaultQos;
            }

            if (action.Upstream is { } upstream)
            {
                upstream.Qos ??= DefaultQos;
            }

            if (action.Http is { PodSelector: not null } http)
            {
                http.Path = string.IsNullOrEmpty(http.Path) ? "/" : http.Path;
            }
        }
    }
}
