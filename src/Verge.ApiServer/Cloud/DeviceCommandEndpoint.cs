using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Http;
using Verge.ApiServer.Security;
using Verge.Core.Edge;

namespace Verge.ApiServer.Cloud;

/// <summary>The body of a command POST: the command (a topic suffix) and its payload.</summary>
internal sealed class DeviceCommandRequest
{
    /// <summary>Delivered on devices/{name}/commands/{command}.</summary>
    public string? Command { get; set; }

    /// <summary>Any JSON value; a string is sent as its text, anything else as its JSON.</summary>
    public JsonElement? Payload { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(DeviceCommandRequest))]
internal sealed partial class DeviceCommandJsonContext : JsonSerializerContext;

/// <summary>
/// <c>POST /apis/edge.verge.dev/v1/namespaces/{ns}/devices/{name}/command</c> with
/// <c>{"command": "reboot", "payload": {...}}</c>: sends a command to the device through its node. Admins and the
/// group <see cref="Authentication.CloudGroup"/> may. 202 with a Success Status when the node's session took it;
/// 404 unknown device, 409 device without node, 503 node not connected (commands are not queued).
/// </summary>
internal static class DeviceCommandEndpoint
{
    public const string Subresource = "command";

    public static bool Matches(string method, string[] segments) =>
        segments is ["apis", "edge.verge.dev", "v1", "namespaces", _, "devices", _, Subresource];

    public static async Task HandleAsync(HttpContext context, string[] segments, DeviceCommands commands, long maxBody)
    {
        var ns = segments[4];
        var device = segments[6];
        var user = Authentication.UserOf(context) ?? throw ApiException.Unauthorized();
        if (context.Request.Method != "POST")
        {
            throw ApiException.MethodNotAllowed(context.Request.Method);
        }

        if (!user.IsAdmin && !user.Groups.Contains(Authentication.CloudGroup))
        {
            throw ApiException.Forbidden(user.Name, "create", Verge.Core.Meta.ResourceCatalog.For<Device>(), ns, device, Subresource);
        }

        var body = await RequestBody.ReadAsync(context.Request, Math.Min(maxBody, 1024 * 1024), context.RequestAborted);
        DeviceCommandRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(body, DeviceCommandJsonContext.Default.DeviceCommandRequest);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("the command request is not valid JSON: " + e.Message);
        }

        if (request?.Command is not { Length: > 0 } command)
        {
            throw ApiException.BadRequest("a command request needs \"command\" (delivered on devices/{name}/commands/{command}) and may have \"payload\"");
        }

        byte[] payload = request.Payload switch
        {
            null => [],
            { ValueKind: JsonValueKind.String } s => System.Text.Encoding.UTF8.GetBytes(s.GetString()!),
            { } other => System.Text.Encoding.UTF8.GetBytes(other.GetRawText()),
        };
        var node = await commands.SendAsync(ns, device, command, payload, context.RequestAborted);
        var status = new Verge.Core.Meta.Status
        {
            Outcome = "Success",
            Code = 202,
            Message = $"command \"{command}\" sent to device \"{ns}/{device}\" through node \"{node}\"",
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(status, Verge.Core.Serialization.VergeJson.Options.GetTypeInfo(typeof(Verge.Core.Meta.Status)));
        await ResourceEndpoint.WriteJsonAsync(context, 202, json);
    }
}
