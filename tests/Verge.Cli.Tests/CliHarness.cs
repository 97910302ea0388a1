namespace Verge.Cli.Tests;

/// <summary>What one in-process CLI invocation printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// Runs the CLI's entry point in-process with captured output, in a working directory of its own and with an empty
/// environment and home, so that no kubeconfig of the machine running the tests is ever found.
/// </summary>
internal sealed class CliHarness : IDisposable
{
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    public string WorkingDirectory { get; } = Directory.CreateTempSubdirectory("verge-cli-cwd-").FullName;

    public string HomeDirectory { get; } = Directory.CreateTempSubdirectory("verge-cli-home-").FullName;

    public string Stdin { get; set; } = "";

    public void SetEnvironment(string name, string value) => _environment[name] = value;

    public CliContext Context(TextWriter stdout, TextWriter stderr, Action<Uri>? serverStarted = null) => new()
    {
        Out = stdout,
        Error = stderr,
        In = new StringReader(Stdin),
        GetEnvironmentVariable = name => _environment.GetValueOrDefault(name),
        CurrentDirectory = WorkingDirectory,
        HomeDirectory = HomeDirectory,
        ServerStarted = serverStarted,
    };

    public async Task<CliResult> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Cli.RunAsync(args, Context(stdout, stderr));
        return new CliResult(code, stdout.ToString().Replace("\r\n", "\n"), stderr.ToString().Replace("\r\n", "\n"));
    }

    public string WriteFile(string name, string text) => WriteFileIn(WorkingDirectory, name, text);

    public static string WriteFileIn(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        StopHostProcesses();
        DeletePodNetworks();
        foreach (var dir in new[] { WorkingDirectory, HomeDirectory })
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The folder that holds Verge.slnx, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Verge.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Verge.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Host-process pods outlive the agent that started them, by design (docs/agent.md), so a test that stopped
    /// `verge up` before its pods were deleted (an assertion that failed half-way) would leave them running with
    /// their directory gone. Each task's wrapper records its session leader in <c>pid</c> and its end in <c>exit</c>;
    /// a task with no <c>exit</c> whose process still leads its own session is stopped with what it started.
    /// </summary>
    private void StopHostProcesses()
    {
        if (!Directory.Exists(WorkingDirectory))
        {
            return;
        }

        foreach (var pidFile in Directory.EnumerateFiles(WorkingDirectory, "pid", SearchOption.AllDirectories))
        {
            var task = Path.GetDirectoryName(pidFile)!;
            if (File.Exists(Path.Combine(task, "exit"))
                || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)
                || !LeadsItsSession(pid))
            {
                continue;
            }

            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // It ended meanwhile.
            }
        }
    }

    /// <summary>
    /// Deletes the network namespaces of the pods an agent of <c>verge up</c> set up here. Pods outlive their agent by
    /// design, so a test that stops <c>up</c> while a pod has its network (or is still starting) would leave the
    /// namespace behind; the CNI records under the data directory name them.
    /// </summary>
    private void DeletePodNetworks()
    {
        if (!Directory.Exists(WorkingDirectory))
        {
            return;
        }

        var prefix = new Verge.Agent.Networking.CniOptions().NetnsPrefix;
        var records = Directory.EnumerateFiles(WorkingDirectory, "*.json", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == "pods" && Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(f))) == "cni");
        foreach (var record in records)
        {
            var info = new System.Diagnostics.ProcessStartInfo("ip", ["netns", "delete", prefix + Path.GetFileNameWithoutExtension(record)])
            {
                RedirectStandardError = true,
            };
            try
            {
                using var ip = System.Diagnostics.Process.Start(info)!;
                ip.StandardError.ReadToEnd();
                ip.WaitForExit();
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // No ip on this machine: no namespace was made either.
            }
        }
    }

    private static bool LeadsItsSession(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] is not ("Z" or "X") && fields[3] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
