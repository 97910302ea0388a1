using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Serialization;
using Verge.ApiServer.Serialization.Protobuf;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Patching;

namespace Verge.ApiServer.Http;

internal sealed partial class ResourceEndpoint
{
    private async Task CreateAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        if (path.Subresource is not null)
        {
            throw ApiException.MethodNotAllowed("POST");
        }

        var options = WriteOptions.From(context.Request, ManagerNames.FromUserAgent(context.Request.Headers.UserAgent));
        var node = await ReadObjectAsync(context, path, ct);
        ResourceService.ResetStatusForCreate(path.Type, node);
        var obj = Decode(context, path.Type, node, options);
        Authorization.CheckCreate(context, path.Type, path.Namespace, obj);
        var created = await service.CreateAsync(path.Type, path.Namespace, obj, options,
            (candidate, _) => Patcher.RecordManager(path.Type, null, candidate, options.FieldManager, "Update", time.GetUtcNow()), ct);
        // As Kubernetes: 201 for a dry run too (nothing is stored, but the answer is what a create would give).
        await WriteObjectAsync(context, 201, path.Type, created);
    }

    private async Task ReplaceAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var options = WriteOptions.From(context.Request, ManagerNames.FromUserAgent(context.Request.Headers.UserAgent));
        var node = await ReadObjectAsync(context, path, ct);
        if (path.Subresource == "scale")
        {
            await WriteScaleAsync(context, path, _ => node, options, ct);
            return;
        }

        var obj = Decode(context, path.Type, node, options);
        var written = await service.UpdateAsync(path.Type, path.Namespace, path.Name!, path.Subresource,
            current => current is null ? obj : Patcher.RecordManager(path.Type, current, obj, options.FieldManager, "Update", time.GetUtcNow(), path.Subresource),
            options, allowCreate: AllowsCreateOnUpdate(path), ct);
        await WriteJsonAsync(context, written.Created ? 201 : 200, written.Json(path.Type));
    }

    /// <summary>
    /// Whether a PUT of an object that does not exist creates it: only for the kinds whose Kubernetes strategy allows
    /// create on update (Leases, Events, Services, Endpoints and the like), never for a subresource. For the rest
    /// (ConfigMaps, Secrets, Deployments, Pods ...) it is a 404, as <c>kubectl replace</c> of a missing object expects.
    /// </summary>
    private static bool AllowsCreateOnUpdate(ResourcePath path) =>
        path.Subresource is null && path.Type.Kind is "Lease" or "Event" or "Endpoints" or "EndpointSlice" or "LimitRange"
            or "ServiceAccount" or "Service" or "Role" or "RoleBinding" or "ClusterRole" or "ClusterRoleBinding";

    private async Task PatchAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var format = RequestBody.FormatOf(context.Request, patch: true);
        WriteOptions.ValidatePatch(context.Request.Query, apply: format == BodyFormat.ApplyPatch);
        var options = WriteOptions.From(context.Request, ManagerNames.FromUserAgent(context.Request.Headers.UserAgent));
        var body = await RequestBody.ReadAsync(context.Request, serverOptions.MaxRequestBodyBytes, ct);
        var patch = RequestBody.Parse(body, format) ?? throw ApiException.BadRequest("the patch body is empty");
        if (path.Subresource == "scale")
        {
            await WriteScaleAsync(context, path, scale => Patcher.Apply(format, scale, patch, null), options, ct);
            return;
        }

        if (format == BodyFormat.ApplyPatch)
        {
            RequireAppliedIdentity(path, patch);
        }

        var now = time.GetUtcNow();
        var written = await service.UpdateFromStoredAsync(path.Type, path.Namespace, path.Name!, path.Subresource,
            stored =>
            {
                if (format == BodyFormat.ApplyPatch)
                {
                    var applied = Patcher.ServerSideApply(path.Type, stored is null ? null : ObjectCodec.ToNode(path.Type, stored), patch,
                        options.FieldManager, options.Force, now, path.Subresource);
                    return Unpinned(Decode(context, path.Type, applied, options), stored);
                }

                // Lease renewals and status reports: the patch's fields are set on a copy of the stored object that
                // shares what the patch leaves alone (no second decode of the stored bytes); managedFields compare it
                // with the stored object; a patch that path does not take goes through JSON trees as below.
                // A field the kind does not have is dropped with the same warning the general path's decode gives
                // (a status report naming a field Verge does not keep stays on this path).
                if (format == BodyFormat.MergePatch
                    && TypedMergePatch.TryPlan(path.Type, stored!, patch, options.Validation != FieldValidation.Strict, out var unknown) is { } assignments)
                {
                    if (unknown is not null && options.Validation == FieldValidation.Warn)
                    {
                        Warn(context, $"unknown field \"{unknown}\"");
                    }

                    var changed = Unpinned(assignments.ApplyToCopy(), stored);
                    return Patcher.RecordManager(path.Type, stored, changed, options.FieldManager, "Update", now, path.Subresource);
                }

                var patched = Patcher.Apply(format, ObjectCodec.ToNode(path.Type, stored!), patch, path.Type);
                var obj = Unpinned(Decode(context, path.Type, patched, options), stored);
                return Patcher.RecordManager(path.Type, stored, obj, options.FieldManager, "Update", now, path.Subresource);
            },
            options, allowCreate: format == BodyFormat.ApplyPatch, ct);
        await WriteJsonAsync(context, written.Created ? 201 : 200, written.Json(path.Type));
    }

    private async Task DeleteAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        if (IsNamespaceKind(path.Type) && Registry.SystemNamespaces.Protected.Contains(path.Name!))
        {
            throw new ApiException(403, "Forbidden", $"namespaces \"{path.Name}\" is forbidden: this namespace may not be deleted",
                new StatusDetails { Name = path.Name, Kind = "namespaces" });
        }

        var delete = await ReadDeleteOptionsAsync(context, ct);
        var (obj, removed) = await service.DeleteAsync(path.Type, path.Namespace, path.Name!, delete, ct);
        // 202 while finalizers hold the object; a pod waiting for its node is a 200, as in Kubernetes.
        await WriteObjectAsync(context, removed || obj.Metadata.Finalizers is not { Count: > 0 } ? 200 : 202, path.Type, obj);
    }

    private async Task DeleteCollectionAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var filter = ParseFilter(path, context.Request.Query);
        _ = ParseInt(context.Request.Query["limit"].ToString(), "limit");
        var delete = await ReadDeleteOptionsAsync(context, ct);
        var prefix = ObjectCodec.Prefix(path.Type, path.Namespace);
        var deleted = new List<KubeObject>();
        string? start = null;
        while (true)
        {
            var page = await service.Store.ListAsync(prefix, 0, PageSize, start, ct);
            foreach (var kv in page.Items)
            {
                var obj = ObjectCodec.Decode(path.Type, kv.Value.Span, kv.ModRevision);
                if (!filter.Matches(path.Type, obj))
                {
                    continue;
                }

                try
                {
                    var (result, _) = await service.DeleteAsync(path.Type, obj.Metadata.Namespace, obj.Metadata.Name!, delete, ct);
                    deleted.Add(result);
                }
                catch (ApiException e) when (e.Code == 404)
                {
                    // Deleted by someone else meanwhile.
                }
            }

            if (!page.HasMore || page.Items.Count == 0)
            {
                break;
            }

            start = page.Items[^1].Key;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.BodyWriter);
        w.WriteStartObject();
        w.WriteString("kind", path.Type.Kind + "List");
        w.WriteString("apiVersion", path.Type.ApiVersion);
        WriteListMeta(w, ResourceService.Rv(await service.Store.GetCurrentRevisionAsync(ct)), null, null);
        w.WriteStartArray("items");
        foreach (var obj in deleted)
        {
            JsonSerializer.Serialize(w, obj, path.Type.TypeInfo);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(ct);
    }

    private async Task BindAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var options = WriteOptions.From(context.Request, ManagerNames.FromUserAgent(context.Request.Headers.UserAgent));
        var body = await RequestBody.ReadAsync(context.Request, serverOptions.MaxRequestBodyBytes, ct);
        var binding = RequestBody.Parse(body, RequestBody.FormatOf(context.Request, patch: false)) as JsonObject
            ?? throw ApiException.BadRequest("a Binding object is required");
        var bodyKind = BodyText(binding, "kind", "Binding");
        var apiVersion = BodyText(binding, "apiVersion", "Binding");
        if (bodyKind is { Length: > 0 } && bodyKind != "Binding" || apiVersion is { Length: > 0 } && apiVersion != "v1")
        {
            throw ApiException.BadRequest($"the body is a {bodyKind ?? "(no kind)"} of {apiVersion ?? "(no apiVersion)"}, not a v1 Binding");
        }

        var metadata = BodyObject(binding, "metadata", "Binding");
        if (BodyText(metadata, "name", "Binding") != path.Name)
        {
            throw ApiException.BadRequest("name in URL does not match name in Binding object");
        }

        var target = BodyObject(binding, "target", "Binding");
        var kind = BodyText(target, "kind", "Binding");
        if (!string.IsNullOrEmpty(kind) && kind != "Node")
        {
            throw ApiException.Invalid(path.Type, path.Name!, [FieldError.NotSupported("target.kind", kind, ["Node", "<empty>"])]);
        }

        var node = BodyText(target, "name", "Binding");
        if (string.IsNullOrEmpty(node))
        {
            throw ApiException.Invalid(path.Type, path.Name!, [FieldError.Required("target.name")]);
        }

        await PodBinder.BindAsync(service, path.Namespace, path.Name!, node, BodyText(metadata, "uid", "Binding"), options.DryRun, ct);

        await WriteCreatedAsync(context);
    }

    /// <summary>
    /// The <c>eviction</c> subresource (policy/v1 Eviction), which <c>kubectl drain</c> uses: deletes the pod with the
    /// Eviction's deleteOptions unless its PodDisruptionBudget forbids it (<see cref="PodEvictor"/>) and answers 201
    /// with a Success Status, as Kubernetes does.
    /// </summary>
    private async Task EvictAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var format = RequestBody.FormatOf(context.Request, patch: false);
        var body = await RequestBody.ReadAsync(context.Request, serverOptions.MaxRequestBodyBytes, ct);
        var node = format == BodyFormat.Protobuf && body.Length > 0
            ? DecodeProtobuf(context, body, "policy/v1", "Eviction")
            : RequestBody.Parse(body, format);
        if (node is not JsonObject eviction)
        {
            throw ApiException.BadRequest("an Eviction object is required");
        }

        var kind = BodyText(eviction, "kind", "Eviction");
        var apiVersion = BodyText(eviction, "apiVersion", "Eviction");
        if (kind is { Length: > 0 } && kind != "Eviction" || apiVersion is { Length: > 0 } && apiVersion is not ("policy/v1" or "policy/v1beta1"))
        {
            throw ApiException.BadRequest($"the body is a {kind ?? "(no kind)"} of {apiVersion ?? "(no apiVersion)"}, not a policy/v1 Eviction");
        }

        var metadata = BodyObject(eviction, "metadata", "Eviction");
        if (BodyText(metadata, "name", "Eviction") != path.Name)
        {
            throw ApiException.BadRequest("name in URL does not match name in Eviction object");
        }

        if (BodyText(metadata, "namespace", "Eviction") is { Length: > 0 } ns && ns != path.Namespace)
        {
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        var delete = DeleteOptionsFrom(context, BodyObject(eviction, "deleteOptions", "Eviction"), "Eviction.deleteOptions");
        await PodEvictor.EvictAsync(service, path.Namespace!, path.Name!, delete, ct);
        await WriteCreatedAsync(context);
    }

    /// <summary>The answer to a binding or an eviction: 201 with a Success Status, as Kubernetes gives.</summary>
    private static Task WriteCreatedAsync(HttpContext context) => WriteJsonAsync(context, 201, JsonSerializer.SerializeToUtf8Bytes(
        new Status { Outcome = "Success", Code = 201 }, Core.Serialization.VergeJson.Options.GetTypeInfo(typeof(Status))));

    private async Task GetScaleAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var (obj, _) = await service.GetAsync(path.Type, path.Namespace, path.Name!, ct);
        await WriteJsonAsync(context, 200, JsonSerializer.SerializeToUtf8Bytes(ScaleView(path.Type, obj), ApiServerJsonContext.Default.JsonObject));
    }

    private async Task WriteScaleAsync(HttpContext context, ResourcePath path, Func<JsonObject, JsonNode> change, WriteOptions options, CancellationToken ct)
    {
        var scale = path.Type.Scale!;
        var (result, _) = await service.UpdateAsync(path.Type, path.Namespace, path.Name!, null, current =>
        {
            var view = ScaleView(path.Type, current!);
            var changed = change(view) as JsonObject ?? throw ApiException.BadRequest("a Scale object is required");
            if (changed["metadata"]?["resourceVersion"]?.GetValue<string>() is { Length: > 0 } pinned
                && pinned != current!.Metadata.ResourceVersion)
            {
                throw ApiException.Modified(path.Type, path.Name!);
            }

            var replicasNode = changed["spec"]?["replicas"];
            int replicas;
            try
            {
                replicas = replicasNode?.GetValue<int>() ?? 0;
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw ApiException.BadRequest("Scale in version \"v1\" cannot be handled as a Scale: spec.replicas must be an integer");
            }

            if (replicas < 0)
            {
                throw new ApiException(422, "Invalid",
                    $"Scale.autoscaling \"{path.Name}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0",
                    new StatusDetails
                    {
                        Name = path.Name,
                        Group = "autoscaling",
                        Kind = "Scale",
                        Causes = [new StatusCause { Reason = "FieldValueInvalid", Field = "spec.replicas", Message = $"Invalid value: {replicas}: must be greater than or equal to 0" }],
                    });
            }

            scale.SetSpecReplicas(current!, replicas);
            current!.Metadata.ResourceVersion = null;
            return current;
        }, options, allowCreate: false, ct);
        await WriteJsonAsync(context, 200, JsonSerializer.SerializeToUtf8Bytes(ScaleView(path.Type, result), ApiServerJsonContext.Default.JsonObject));
    }

    /// <summary>
    /// A patch pins the object's resourceVersion only when the patch itself names one: the version the object
    /// carried when the patch was applied is not a precondition, so the write is retried on a conflict, as
    /// Kubernetes retries patches.
    /// </summary>
    private static KubeObject Unpinned(KubeObject patched, KubeObject? current)
    {
        if (current is not null && patched.Metadata.ResourceVersion == current.Metadata.ResourceVersion)
        {
            patched.Metadata.ResourceVersion = null;
        }

        return patched;
    }

    private static JsonObject ScaleView(ResourceType type, KubeObject obj)
    {
        var scale = type.Scale!;
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = obj.Metadata.Name,
                ["namespace"] = obj.Metadata.Namespace,
                ["uid"] = obj.Metadata.Uid,
                ["resourceVersion"] = obj.Metadata.ResourceVersion,
                ["creationTimestamp"] = obj.Metadata.CreationTimestamp?.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            },
            ["spec"] = new JsonObject { ["replicas"] = scale.GetSpecReplicas(obj) },
            ["status"] = new JsonObject { ["replicas"] = scale.GetStatusReplicas(obj), ["selector"] = scale.GetSelector(obj) },
        };
    }

    /// <summary>
    /// Decodes a Kubernetes protobuf body, which kubectl sends for <c>kubectl create namespace|configmap|secret|deployment</c>.
    /// Fields the decoder does not know are skipped with a Warning header, as protobuf decoding does.
    /// </summary>
    private static JsonObject DecodeProtobuf(HttpContext context, ResourcePath path, byte[] body)
    {
        if (!KubernetesProtobuf.Supports(path.Type) && path.Subresource != "scale")
        {
            throw ApiException.UnsupportedMediaType(context.Request.ContentType);
        }

        return DecodeProtobuf(context, body, path.Type.ApiVersion, path.Type.Kind);
    }

    /// <summary>
    /// Decodes a protobuf body that is not an object of the URL's resource (DeleteOptions, Eviction), or is;
    /// <paramref name="apiVersion"/> and <paramref name="kind"/> stand in for an empty TypeMeta.
    /// </summary>
    private static JsonObject DecodeProtobuf(HttpContext context, byte[] body, string apiVersion, string kind)
    {
        var ignored = new List<string>();
        JsonObject node;
        try
        {
            node = KubernetesProtobuf.Decode(body, apiVersion, kind, ignored);
        }
        catch (FormatException e)
        {
            throw ApiException.BadRequest(e.Message);
        }

        foreach (var message in ignored)
        {
            context.Response.Headers.Append("Warning", $"299 - \"{message}\"");
        }

        return node;
    }

    /// <summary>An applied configuration names its kind and, when it names an object, the one on the URL.</summary>
    private static void RequireAppliedIdentity(ResourcePath path, JsonNode patch)
    {
        var apiVersion = patch["apiVersion"] is JsonValue av && av.TryGetValue<string>(out var a) ? a : null;
        var kind = patch["kind"] is JsonValue kv && kv.TryGetValue<string>(out var k) ? k : null;
        if (apiVersion != path.Type.ApiVersion || kind != path.Type.Kind)
        {
            throw ApiException.BadRequest(
                $"the applied configuration must have apiVersion \"{path.Type.ApiVersion}\" and kind \"{path.Type.Kind}\"; it has \"{apiVersion}\" and \"{kind}\"");
        }

        if (patch["metadata"]?["name"] is JsonValue nv && nv.TryGetValue<string>(out var name) && name != path.Name)
        {
            throw ApiException.BadRequest($"the name of the object ({name}) does not match the name on the URL ({path.Name})");
        }
    }

    private async Task<JsonObject> ReadObjectAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var format = RequestBody.FormatOf(context.Request, patch: false);
        var body = await RequestBody.ReadAsync(context.Request, serverOptions.MaxRequestBodyBytes, ct);
        var node = format == BodyFormat.Protobuf ? DecodeProtobuf(context, path, body) : RequestBody.Parse(body, format);
        if (node is not JsonObject obj)
        {
            throw ApiException.BadRequest("the request body must be a JSON or YAML object");
        }

        if (path.Subresource == "scale")
        {
            return obj;
        }

        RequestBody.RequireKind(obj, path.Type);
        return obj;
    }

    private static KubeObject Decode(HttpContext context, ResourceType type, JsonNode node, WriteOptions options)
    {
        Action<string>? warn = options.Validation == FieldValidation.Warn ? message => Warn(context, message) : null;
        return ObjectCodec.FromNode(type, node, options.Validation == FieldValidation.Strict, warn);
    }

    private static void Warn(HttpContext context, string message) =>
        context.Response.Headers.Append("Warning", $"299 - \"{message.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");

    /// <summary>A member of a <paramref name="kind"/> body (Binding, Eviction) that must be an object when present (null when absent or null).</summary>
    private static JsonObject? BodyObject(JsonObject parent, string field, string kind) => parent[field] switch
    {
        null => null,
        JsonObject value => value,
        var other => throw ApiException.BadRequest($"{kind} in version \"v1\" cannot be handled as a {kind}: {field} must be an object, not {other.GetValueKind().ToString().ToLowerInvariant()}"),
    };

    /// <summary>A member of a <paramref name="kind"/> body (Binding, Eviction) that must be a string when present (null when absent or null).</summary>
    private static string? BodyText(JsonObject? parent, string field, string kind) => parent?[field] switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        var other => throw ApiException.BadRequest($"{kind} in version \"v1\" cannot be handled as a {kind}: {field} must be a string, not {other.GetValueKind().ToString().ToLowerInvariant()}"),
    };

    private async Task<DeleteOptions> ReadDeleteOptionsAsync(HttpContext context, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(context.Request, serverOptions.MaxRequestBodyBytes, ct);
        if (body.Length == 0)
        {
            return DeleteOptionsFrom(context, null, "DeleteOptions");
        }

        // kubectl drain and kubectl's typed deletes send DeleteOptions as protobuf.
        var format = RequestBody.FormatOf(context.Request, patch: false);
        var node = format == BodyFormat.Protobuf
            ? DecodeProtobuf(context, body, "v1", "DeleteOptions")
            : RequestBody.Parse(body, format);
        return DeleteOptionsFrom(context, node as JsonObject ?? throw ApiException.BadRequest("DeleteOptions must be a JSON object"), "DeleteOptions");
    }

    /// <summary>
    /// DeleteOptions from a body's tree (null when there is none) and the request's query parameters, which win;
    /// <paramref name="what"/> names the body in errors.
    /// </summary>
    private static DeleteOptions DeleteOptionsFrom(HttpContext context, JsonObject? node, string what)
    {
        var delete = new DeleteOptions();
        if (node is not null)
        {
            try
            {
                delete = node.Deserialize(ApiServerJsonContext.Default.DeleteOptions) ?? delete;
            }
            catch (JsonException e)
            {
                // The serializer's message names .NET types; the field's path says what is wrong in the client's terms.
                var field = e.Path is { Length: > 2 } jsonPath ? jsonPath[2..] : "the body";
                throw ApiException.BadRequest($"{what} in version \"v1\" cannot be handled: {field} has the wrong type");
            }
        }

        var query = context.Request.Query;
        var dryRun = query["dryRun"].ToString();
        if (dryRun == "All")
        {
            delete.DryRun = ["All"];
        }
        else if (dryRun.Length > 0)
        {
            throw ApiException.BadRequest($"Invalid dry run value: {dryRun}; the only supported value is \"All\"");
        }

        if (delete.DryRun?.FirstOrDefault(v => v != "All") is { } invalid)
        {
            throw ApiException.BadRequest($"Invalid dry run value: {invalid}; the only supported value is \"All\"");
        }

        if (query["gracePeriodSeconds"].ToString() is { Length: > 0 } grace)
        {
            delete.GracePeriodSeconds = long.TryParse(grace, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                ? seconds
                : throw ApiException.BadRequest($"invalid gracePeriodSeconds \"{grace}\": must be a whole number of seconds");
        }

        if (query["propagationPolicy"].ToString() is { Length: > 0 } policy)
        {
            delete.PropagationPolicy = policy;
        }

        if (delete.PropagationPolicy is { } p && p is not ("Orphan" or "Background" or "Foreground"))
        {
            throw ApiException.BadRequest($"invalid propagationPolicy: {p}; supported values are Orphan, Background and Foreground");
        }

        return delete;
    }
}
