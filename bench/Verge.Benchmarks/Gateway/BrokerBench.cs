using System.Globalization;

namespace Verge.Benchmarks.Gateway;

/// <summary>
/// Names the broker harness and the broker host share. The host is also built alone as a Native AOT executable
/// (bench/Verge.BrokerHost), so this file depends on nothing else in the benchmarks.
/// </summary>
internal static class BrokerBench
{
    public const string DevicePassword = "bench-device-secret";
    public const string AppUser = "bench-app";
    public const string AppPassword = "bench-app-secret";

    public static string DeviceName(int i) => $"dev-{i:D5}";

    public static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} must be a positive integer, got \"{value}\"");
}
