using System.Text.Json.Nodes;
using Verge.Cli.Client;
using Verge.Cli.Manifests;

namespace Verge.Cli.Commands;

/// <summary>Where one applied object goes and the server-side apply request for it.</summary>
internal sealed record ApplyTarget(ApiResource Resource, string? Namespace, string Name, string ItemPath, string PatchPath, string Body);

/// <summary>
/// The pure part of <c>verge apply</c>: the URL of each object (its own namespace, else -n, else the context's) and the
/// message for each outcome (created, configured, unchanged).
/// </summary>
internal static class ApplyPlanner
{
    public const string FieldManager = "verge";
    public const string ContentType = "application/apply-patch+yaml";

    public static ApplyTarget Plan(ManifestObject manifest, ApiResource resource, string? namespaceFlag, string contextNamespace)
    {
        var name = manifest.Name ?? throw new CliException($"error: error validating \"{manifest.Source}\": a {manifest.Kind} has no metadata.name");
        var body = (JsonObject)manifest.Object.DeepClone();
        string? ns = null;
        if (resource.Namespaced)
        {
            if (manifest.Namespace is { } own && !string.IsNullOrEmpty(namespaceFlag) && own != namespaceFlag)
            {
                throw new CliException(
                    $"error: the namespace from the provided object \"{own}\" does not match the namespace \"{namespaceFlag}\". You must pass '--namespace={own}' to perform this operation.");
            }

            ns = manifest.Namespace ?? (string.IsNullOrEmpty(namespaceFlag) ? contextNamespace : namespaceFlag);
            if (body["metadata"] is JsonObject metadata)
            {
                metadata["namespace"] = ns;
            }
        }
        else if (body["metadata"] is JsonObject metadata && metadata.ContainsKey("namespace"))
        {
            metadata.Remove("namespace");
        }

        var itemPath = resource.ItemPath(ns, name);
        var patchPath = $"{itemPath}?fieldManager={FieldManager}&force=true";
        return new ApplyTarget(resource, ns, name, itemPath, patchPath, body.ToJsonString());
    }

    /// <summary>created on 201 or when nothing existed before, unchanged when the resourceVersion stayed, else configured.</summary>
    public static string Outcome(int code, string? resourceVersionBefore, string? resourceVersionAfter) =>
        code == 201 || resourceVersionBefore is null ? "created"
        : resourceVersionBefore == resourceVersionAfter ? "unchanged"
        : "configured";

    public static string Message(ApplyTarget target, string outcome) => $"{target.Resource.DisplayName}/{target.Name} {outcome}";
}
