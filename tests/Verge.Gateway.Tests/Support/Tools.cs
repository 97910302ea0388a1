using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Verge.Gateway.Tests.Support;

/// <summary>Real clients and helpers for the gateway tests.</summary>
internal static class Tools
{
    /// <summary>Fails (never skips) when a tool the test needs is missing, naming its Debian package.</summary>
    public static string Require(string tool, string package)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            var path = Path.Combine(dir, tool);
            if (File.Exists(path))
            {
                return path;
            }
        }

        Assert.Fail($"{tool} is not installed: apt-get install -y {package}");
        return "";
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Polls a condition until it holds or the deadline passes.</summary>
    public static async Task Eventually(Func<bool> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Starts a tool; the caller awaits <see cref="ToolRun.WaitAsync"/> (which kills it past the deadline).</summary>
    public static ToolRun Start(string tool, string package, params string[] args)
    {
        var info = new ProcessStartInfo(Require(tool, package))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new ToolRun(Process.Start(info)!);
    }

    public static async Task<(int Exit, string Out, string Err)> Run(string tool, string package, params string[] args)
    {
        using var run = Start(tool, package, args);
        return await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>mosquitto_pub against the gateway.</summary>
    public static Task<(int Exit, string Out, string Err)> Pub(int port, string? user, string? password, string topic, string message, params string[] extra) =>
        Run("mosquitto_pub", "mosquitto-clients", [.. Auth(port, user, password), "-t", topic, "-m", message, .. extra]);

    public static ToolRun Sub(int port, string? user, string? password, string topic, int count, params string[] extra) =>
        Start("mosquitto_sub", "mosquitto-clients", [.. Auth(port, user, password), "-t", topic, "-C", count.ToString(), "-W", "20", .. extra]);

    private static string[] Auth(int port, string? user, string? password) =>
        user is null ? ["-h", "127.0.0.1", "-p", port.ToString()] : ["-h", "127.0.0.1", "-p", port.ToString(), "-u", user, "-P", password ?? ""];
}

internal sealed class ToolRun(Process process) : IDisposable
{
    private readonly Task<string> _out = process.StandardOutput.ReadToEndAsync();
    private readonly Task<string> _err = process.StandardError.ReadToEndAsync();

    public Process Process => process;

    public async Task<(int Exit, string Out, string Err)> WaitAsync(TimeSpan deadline)
    {
        using var cts = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{process.StartInfo.FileName} did not finish in {deadline}: {await _out} {await _err}");
        }

        return (process.ExitCode, await _out, await _err);
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        process.Dispose();
    }
}
