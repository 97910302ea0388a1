namespace Verge.Gateway.Auth;

/// <summary>
/// The default topic rules for devices: a device publishes only under <c>devices/{name}/</c> and subscribes only to
/// filters inside <c>devices/{name}/commands/</c> and <c>devices/{name}/twin/</c> (or those levels themselves).
/// </summary>
internal static class TopicAcl
{
    public static bool CanPublish(string device, string topic) =>
        topic.Length > Prefix(device) && topic.StartsWith("devices/", StringComparison.Ordinal) &&
        topic.AsSpan(8).StartsWith(device, StringComparison.Ordinal) && topic[8 + device.Length] == '/' &&
        topic.AsSpan(9 + device.Length).IndexOfAny('+', '#') < 0;

    public static bool CanSubscribe(string device, string filter) =>
        Within(device, filter, "commands") || Within(device, filter, "twin");

    /// <summary>The device a topic of the form devices/{name}/... names, or null.</summary>
    public static string? DeviceOf(string topic)
    {
        if (!topic.StartsWith("devices/", StringComparison.Ordinal))
        {
            return null;
        }

        var end = topic.IndexOf('/', 8);
        return end > 8 ? topic[8..end] : null;
    }

    private static int Prefix(string device) => 9 + device.Length;

    private static bool Within(string device, string filter, string area)
    {
        // devices/{device}/{area} exactly, or devices/{device}/{area}/ followed by anything (wildcards included).
        var head = Prefix(device) + area.Length;
        if (filter.Length < head || !filter.StartsWith("devices/", StringComparison.Ordinal) ||
            !filter.AsSpan(8).StartsWith(device, StringComparison.Ordinal) || filter[8 + device.Length] != '/' ||
            !filter.AsSpan(Prefix(device)).StartsWith(area, StringComparison.Ordinal))
        {
            return false;
        }

        return filter.Length == head || filter[head] == '/';
    }
}
