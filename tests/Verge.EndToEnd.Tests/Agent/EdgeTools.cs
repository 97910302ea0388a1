using System.Diagnostics;
using System.Text;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>Finding and running the real tools the agent's end-to-end tests use.</summary>
internal static class EdgeTools
{
    /// <summary>The full path of a command, or a test failure naming the apt package that provides it.</summary>
    public static string Require(string command, string aptPackage)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"{command} is not installed: apt-get install -y {aptPackage}");
        return string.Empty;
    }

    /// <summary>Fails (naming the apt package) unless every tool the agent tests need is installed.</summary>
    public static void RequireAll()
    {
        Require("runc", "runc");
        Require("umoci", "umoci");
        Require("skopeo", "skopeo");
        Require("docker-registry", "docker-registry");
        Require("busybox", "busybox-static");
        Require("ip", "iproute2");
        Require("nsenter", "util-linux");
        Require("curl", "curl");
        if (!File.Exists("/usr/lib/cni/bridge"))
        {
            Assert.Fail("the CNI bridge plugin is not installed: apt-get install -y containernetworking-plugins");
        }
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs a command to completion (2 minutes at most) and returns its exit code and output.</summary>
    public static async Task<Result> ExecAsync(string command, IEnumerable<string> arguments, CancellationToken ct = default)
    {
        var info = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {command}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', info.ArgumentList)} did not finish within 2 minutes");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a command to completion; a non-zero exit fails with its output.</summary>
    public static async Task<string> RunAsync(string command, IEnumerable<string> arguments, CancellationToken ct = default)
    {
        var result = await ExecAsync(command, arguments, ct);
        if (result.ExitCode != 0)
        {
            var message = new StringBuilder()
                .Append(command).Append(' ').AppendJoin(' ', arguments)
                .Append(" exited with ").Append(result.ExitCode).Append(": ").Append(result.Stderr).Append(result.Stdout);
            throw new InvalidOperationException(message.ToString());
        }

        return result.Stdout;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes; then fails with <paramref name="describe"/>.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> condition, TimeSpan timeout, Func<Task<string>> describe)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await condition();
            if (value is not null)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not reached within {timeout.TotalSeconds} s: {await describe()}");
            }

            await Task.Delay(250);
        }
    }

    public static string TempDir(string prefix) => Directory.CreateTempSubdirectory(prefix + "-").FullName;

    public static void DeleteDir(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
