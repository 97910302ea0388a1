using System.Text.Json.Nodes;
using Verge.Core.Meta;
using Verge.Store;

namespace Verge.ApiServer.Registry;

/// <summary>Creates the namespaces every cluster has: default, kube-system, kube-public and kube-node-lease.</summary>
internal static class SystemNamespaces
{
    public static readonly string[] Names = ["default", "kube-system", "kube-public", Verge.Core.Coordination.Lease.NodeLeaseNamespace];

    /// <summary>The namespaces that may not be deleted, as in Kubernetes.</summary>
    public static readonly HashSet<string> Protected = new(StringComparer.Ordinal) { "default", "kube-system", "kube-public" };

    public static async Task EnsureAsync(ResourceService service, CancellationToken ct)
    {
        var type = ResourceCatalog.Find("", "v1", "namespaces")!;
        foreach (var name in Names)
        {
            if (await service.GetRawAsync(type, null, name, ct) is not null)
            {
                continue;
            }

            var node = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Namespace",
                ["metadata"] = new JsonObject { ["name"] = name },
                ["status"] = new JsonObject { ["phase"] = "Active" },
            };
            try
            {
                await service.CreateAsync(type, null, ObjectCodec.FromNode(type, node, strict: false),
                    new WriteOptions(false, "verge-server", FieldValidation.Ignore, false), null, ct);
            }
            catch (Http.ApiException e) when (e.Code == 409)
            {
                // Another replica made it first.
            }
        }
    }
}
