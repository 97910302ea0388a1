namespace Verge.ApiServer.Cloud;

/// <summary>Settings of the cloud-side MQTT endpoint (<c>verge server --mqtt-listen</c>).</summary>
public sealed class CloudEndpointOptions
{
    /// <summary>How many recent upstream message ids are remembered to drop duplicates.</summary>
    public int DuplicateWindow { get; set; } = 100_000;

    /// <summary>The largest MQTT packet a cloud application may send.</summary>
    public int MaxPacketBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long an upstream batch may wait for slow cloud applications (more than half of their queue of
    /// <see cref="CloudEndpoint.MaxPendingPerClient"/> messages still undelivered) before it is refused; the gateway
    /// keeps a refused batch and sends it again.
    /// </summary>
    public TimeSpan UplinkBackpressureWait { get; set; } = TimeSpan.FromSeconds(2);

    public void Validate()
    {
        if (UplinkBackpressureWait < TimeSpan.Zero || UplinkBackpressureWait > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException("the cloud endpoint's UplinkBackpressureWait must be between 0 and 1 minute");
        }

        if (DuplicateWindow < 1)
        {
            throw new ArgumentException("the cloud endpoint's DuplicateWindow must be positive");
        }

        if (MaxPacketBytes < 1024)
        {
            throw new ArgumentException("the cloud endpoint's MaxPacketBytes must be at least 1024");
        }
    }
}
