using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.ApiServer.Registry;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.Cloud;

/// <summary>
/// Writes what gateways report about their devices into Device.status (connected, lastSeen, reported, gatewayNode)
/// through the registry: compare-and-swap, and no write when nothing changed (the registry skips no-op writes).
/// A node may report only the devices assigned to it (spec.nodeName); anything else is refused and logged.
/// </summary>
internal sealed partial class DeviceReportWriter(ResourceService service, ILogger<DeviceReportWriter> logger)
{
    private const string FieldManager = "verge-node-channel";

    private static readonly ResourceType DeviceType = ResourceCatalog.For<Device>();

    private readonly WriteOptions _write = new(false, FieldManager, FieldValidation.Ignore, false);

    public async Task WriteAsync(string node, DeviceReportBatch batch, CancellationToken ct)
    {
        foreach (var report in batch.Reports)
        {
            JsonObject? reported = null;
            if (!report.ReportedJson.IsEmpty)
            {
                try
                {
                    reported = JsonNode.Parse(report.ReportedJson.Span) as JsonObject ?? throw new JsonException("not a JSON object");
                }
                catch (JsonException e)
                {
                    LogRefused(logger, node, report.Namespace, report.Name, "its reported twin is not a JSON object: " + e.Message);
                }
            }

            try
            {
                await service.UpdateAsync(DeviceType, report.Namespace, report.Name, "status", current =>
                {
                    var device = current as Device ?? throw ApiException.NotFound(DeviceType, report.Name);
                    if (device.Spec.NodeName != node)
                    {
                        throw ApiException.Forbidden("system:node:" + node, "update", DeviceType, report.Namespace, report.Name, "status",
                            $"device is assigned to node \"{device.Spec.NodeName}\"");
                    }

                    var status = device.Status ??= new DeviceStatus();
                    status.Connected = report.Connected;
                    if (report.LastSeenUnixMs > 0)
                    {
                        var seen = DateTimeOffset.FromUnixTimeMilliseconds(report.LastSeenUnixMs);
                        status.LastSeen = status.LastSeen is { } last && last > seen ? last : seen;
                    }

                    status.GatewayNode = node;
                    if (reported is not null)
                    {
                        status.Reported = (JsonObject)reported.DeepClone();
                    }

                    device.Metadata.ResourceVersion = null;
                    return device;
                }, _write, allowCreate: false, ct);
            }
            catch (ApiException e)
            {
                LogRefused(logger, node, report.Namespace, report.Name, e.Message);
            }
        }
    }

    [LoggerMessage(EventId = 3410, Level = LogLevel.Warning, Message = "Node {Node}: report of device {Namespace}/{Device} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string node, string @namespace, string device, string reason);
}
