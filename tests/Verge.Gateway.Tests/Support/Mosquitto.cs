using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Verge.Gateway.Tests.Support;

/// <summary>A real mosquitto broker on a free loopback port with its own config file; killed and cleaned up on dispose.</summary>
internal sealed class Mosquitto : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private Mosquitto(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Waits until mosquitto logs a subscription to the filter (log_type subscribe).</summary>
    public Task WaitSubscribed(string filter) =>
        Tools.Eventually(() => ReadLog().Contains(" " + filter, StringComparison.Ordinal), $"a subscription to {filter} at mosquitto");

    private string ReadLog()
    {
        // mosquitto buffers stdout when it is not a terminal, but writes its log file line by line.
        var path = Path.Combine(_directory, "mosquitto.log");
        if (!File.Exists(path))
        {
            return "";
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static async Task<Mosquitto> StartAsync()
    {
        var binary = File.Exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : Tools.Require("mosquitto", "mosquitto");
        var directory = Directory.CreateTempSubdirectory("verge-mosquitto-").FullName;

        // Started as root, mosquitto drops to its own user: it must be able to write its log here.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111);
        }
        var port = Tools.FreePort();
        var config = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest file {Path.Combine(directory, "mosquitto.log")}\nlog_type subscribe\n");
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(config);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var broker = new Mosquitto(process, directory, port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return broker;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(20);
            }
            catch (SocketException)
            {
                await broker.DisposeAsync();
                Assert.Fail("mosquitto did not open its port");
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
