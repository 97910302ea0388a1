using System.Diagnostics;

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
        RequireTool("ip", "iproute2");
        var n = Interlocked.Increment(ref _next) % 250;
        var suffix = $"{Environment.ProcessId % 10000}x{n}";
        var name = $"verge-e2e-{suffix}";
        var hostDevice = $"vh{suffix}";
        var innerDevice = $"vn{suffix}";
        var hostAddress = $"10.231.{n}.1";
        var address = $"10.231.{n}.2";
        var netns = new NetworkNamespace(name, hostDevice, innerDevice, hostAddress, address);
        await RunAsync("ip", "netns", "add", name);
        try
        {
            await RunAsync("ip", "link", "add", hostDevice, "type", "veth", "peer", "name", innerDevice);
            await RunAsync("ip", "link", "set", innerDevice, "netns", name);
            await RunAsync("ip", "addr", "add", $"{hostAddress}/30", "dev", hostDevice);
            await RunAsync("ip", "link", "set", hostDevice, "up");
            await RunAsync("ip", "-n", name, "addr", "add", $"{address}/30", "dev", innerDevice);
            await RunAsync("ip", "-n", name, "link", "set", innerDevice, "up");
            await RunAsync("ip", "-n", name, "link", "set", "lo", "up");
            await RunAsync("ip", "-n", name, "route", "add", "default", "via", hostAddress);
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
    public Task CutAsync() => RunAsync("ip", "-n", Name, "link", "set", InnerDevice, "down");

    public async Task HealAsync()
    {
        await RunAsync("ip", "-n", Name, "link", "set", InnerDevice, "up");
        await RunAsync("ip", "-n", Name, "route", "replace", "default", "via", HostAddress);
    }

    public async ValueTask DisposeAsync()
    {
        // Deleting the namespace removes its end of the veth pair, and with it the host's end.
        await RunAsync(ignoreErrors: true, "ip", "netns", "del", Name);
        await RunAsync(ignoreErrors: true, "ip", "link", "del", HostDevice);
    }

    internal static void RequireTool(string tool, string package)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
        if (!found)
        {
            throw new InvalidOperationException($"'{tool}' is missing: apt-get install -y {package}");
        }
    }

    internal static Task RunAsync(string file, params string[] args) => RunAsync(ignoreErrors: false, file, args);

    internal static async Task RunAsync(bool ignoreErrors, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && !ignoreErrors)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }
}
