using System.Text.Json.Nodes;

namespace Verge.ApiServer.OpenApi;

/// <summary>A group, version and kind as the OpenAPI extensions spell it.</summary>
internal readonly record struct GroupVersionKind(string Group, string Version, string Kind)
{
    /// <summary><c>{"group":..,"kind":..,"version":..}</c>: exactly these three keys, as kubectl compares them.</summary>
    public JsonObject ToJson() => new()
    {
        ["group"] = Group,
        ["kind"] = Kind,
        ["version"] = Version,
    };
}

/// <summary>How Verge names schemas so they read like the ones Kubernetes publishes.</summary>
internal static class SchemaNames
{
    public const string Meta = "io.k8s.apimachinery.pkg.apis.meta.v1";
    public const string Quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity";
    public const string IntOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
    public const string Status = Meta + ".Status";
    public const string ListMeta = Meta + ".ListMeta";
    public const string ObjectMeta = Meta + ".ObjectMeta";
    public const string DeleteOptions = Meta + ".DeleteOptions";
    public const string Preconditions = Meta + ".Preconditions";
    public const string Patch = Meta + ".Patch";
    public const string Scale = "io.k8s.api.autoscaling.v1.Scale";
    public const string ScaleSpec = "io.k8s.api.autoscaling.v1.ScaleSpec";
    public const string ScaleStatus = "io.k8s.api.autoscaling.v1.ScaleStatus";

    /// <summary>The v3 reference prefix.</summary>
    public const string V3RefPrefix = "#/components/schemas/";

    /// <summary>The v2 reference prefix.</summary>
    public const string V2RefPrefix = "#/definitions/";

    /// <summary>
    /// The schema name prefix of a group-version: <c>io.k8s.api.core.v1</c> for the core group,
    /// <c>io.k8s.api.apps.v1</c>, <c>io.k8s.api.rbac.v1</c> for <c>rbac.authorization.k8s.io</c>, and the reversed
    /// domain for other groups (<c>dev.verge.edge.v1</c> for <c>edge.verge.dev</c>), as Kubernetes names CRDs.
    /// </summary>
    public static string Prefix(string group, string version)
    {
        if (group.Length == 0)
        {
            return $"io.k8s.api.core.{version}";
        }

        if (group == "apiextensions.k8s.io")
        {
            return $"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}";
        }

        if (group == "apiregistration.k8s.io")
        {
            return $"io.k8s.kube-aggregator.pkg.apis.apiregistration.{version}";
        }

        if (group.EndsWith(".k8s.io", StringComparison.Ordinal))
        {
            return $"io.k8s.api.{group.Split('.')[0]}.{version}";
        }

        if (!group.Contains('.', StringComparison.Ordinal))
        {
            return $"io.k8s.api.{group}.{version}";
        }

        return string.Join('.', group.Split('.').Reverse()) + "." + version;
    }

    /// <summary><c>api/v1</c> or <c>apis/apps/v1</c>: the key of the <c>/openapi/v3</c> index.</summary>
    public static string GroupVersionPath(string group, string version) =>
        group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";

    /// <summary>The operation id part of a group-version: <c>CoreV1</c>, <c>AppsV1</c>, <c>EdgeVergeDevV1</c>.</summary>
    public static string OperationGroup(string group, string version)
    {
        var g = group.Length == 0 ? "core" : group.EndsWith(".k8s.io", StringComparison.Ordinal) ? group[..^7] : group;
        return string.Concat(g.Split('.').Select(Pascal)) + Pascal(version);
    }

    private static string Pascal(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
