using System.Diagnostics;
using System.Text;

namespace Verge.Agent.Tests.Support;

/// <summary>Finding and running the real tools tests use (docker-registry, umoci, skopeo, busybox).</summary>
public static class Tools
{
    /// <summary>
    /// The full path of a command (searched on PATH and in the sbin directories, where runc and ip live), or a test
    /// failure naming the apt package that provides it.
    /// </summary>
    public static string Require(string command, string aptPackage)
    {
        string[] candidates = command.StartsWith('/')
            ? [command]
            : [.. (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':').Append("/usr/sbin").Append("/sbin").Select(dir => Path.Combine(dir, command))];
        var found = candidates.FirstOrDefault(File.Exists);
        if (found is null)
        {
            Assert.Fail($"{command} is not installed: apt-get install -y {aptPackage}");
        }

        return found;
    }

    /// <summary>Fails the test unless it runs as root (containers, cgroups and network namespaces need it).</summary>
    public static void RequireRoot()
    {
        if (Environment.UserName != "root")
        {
            Assert.Fail("this test runs containers and network namespaces and must run as root");
        }
    }

    /// <summary>Runs a command to completion; a non-zero exit fails with its output.</summary>
    public static async Task<string> RunAsync(string command, IEnumerable<string> arguments, CancellationToken ct = default)
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

        var output = await stdout;
        var errors = await stderr;
        if (process.ExitCode != 0)
        {
            var message = new StringBuilder()
                .Append(command).Append(' ').AppendJoin(' ', info.ArgumentList)
                .Append(" exited with ").Append(process.ExitCode).Append(": ").Append(errors).Append(output);
            throw new InvalidOperationException(message.ToString());
        }

        return output;
    }

    /// <summary>A fresh temp directory under the system temp dir; the caller deletes it.</summary>
    public static string TempDir(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

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
