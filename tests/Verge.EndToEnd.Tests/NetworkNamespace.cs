using System.Diagnostics;
using Verge.EndToEnd.Tests.Agent;

namespace Verge.EndToEnd.Tests;

/// <summary>
/// A network namespace joined to the host by a veth pair, standing in for an edge device on its own link: the host
/// side is <see cref="HostAddress"/>, the namespace side <see cref="Address"/>. <see cref="CutAsync"/> takes the link
/// down (a partition) and <see cref="HealAsync"/> brings it back.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(0, 200);

    private NetworkNamespace(string name, string hostDevice, string innerDevice, string hostAddress, string address)
    {
        Name = name;
        HostDevice = hostDevice;
        InnerDevice = innerDevice;
        HostAddress = hostAddress;
        Address = address;
    }

    public string Name { get; }

    public string HostDevice { get; }

    public string InnerDevice { get; }

    /// <summary>The host's address on the link; servers the namespace must reach listen here.</summary>
    public string HostAddress { get; }

    /// <summary>The namespace's address on the link.</summary>
    public string Address { get; }

    public static async Task<NetworkNamespace> CreateAsync()
    {
        EdgeTools.Require("ip", "iproute2");
        var n = Interlocked.Increment(ref _next) % 250;
        var suffix = $"{Environment.ProcessId % 10000}x{n}";
        var name = $"verge-e2e-{suffix}";
        var hostDevice = $"vh{suffix}";
        var innerDevice = $"vn{suffix}";
        var hostAddress = $"10.231.{n}.1";
        var address = $"10.231.{n}.2";
        var netns = new NetworkNamespace(name, hostDevice, innerDevice, hostAddress, address);
        await EdgeTools.RunAsync("ip", ["netns", "add", name]);
        try
        {
            await EdgeTools.RunAsync("ip", ["link", "add", hostDevice, "type", "veth", "peer", "name", innerDevice]);
            await EdgeTools.RunAsync("ip", ["link", "set", innerDevice, "netns", name]);
            await EdgeTools.RunAsync("ip", ["addr", "add", $"{hostAddress}/30", "dev", hostDevice]);
            await EdgeTools.RunAsync("ip", ["link", "set", hostDevice, "up"]);
            await EdgeTools.RunAsync("ip", ["-n", name, "addr", "add", $"{address}/30", "dev", innerDevice]);
            await EdgeTools.RunAsync("ip", ["-n", name, "link", "set", innerDevice, "up"]);
            await EdgeTools.RunAsync("ip", ["-n", name, "link", "set", "lo", "up"]);
            await EdgeTools.RunAsync("ip", ["-n", name, "route", "add", "default", "via", hostAddress]);
        }
        catch
        {
            await netns.DisposeAsync();
            throw;
        }

        return netns;
    }

    /// <summary>A start info that runs <paramref name="file"/> inside the namespace.</summary>
    public ProcessStartInfo StartInfo(string file, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "netns", "exec", Name, file }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>Takes the namespace's side of the link down: nothing passes until <see cref="HealAsync"/>.</summary>
    public Task CutAsync() => EdgeTools.RunAsync("ip", ["-n", Name, "link", "set", InnerDevice, "down"]);

    public async Task HealAsync()
    {
        await EdgeTools.RunAsync("ip", ["-n", Name, "link", "set", InnerDevice, "up"]);
        await EdgeTools.RunAsync("ip", ["-n", Name, "route", "replace", "default", "via", HostAddress]);
    }

    public async ValueTask DisposeAsync()
    {
        // Deleting the namespace removes its end of the veth pair, and with it the host's end.
        await EdgeTools.ExecAsync("ip", ["netns", "del", Name]);
        await EdgeTools.ExecAsync("ip", ["link", "del", HostDevice]);
    }
}
