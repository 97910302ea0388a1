using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Channel;
using Verge.Agent.Logs;
using Verge.Agent.Tests.Fakes;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

/// <summary>Pods of real host processes, through a minimal driver: env, logs, restarts and graceful deletion for real.</summary>
public sealed class HostProcessPodTests
{
    [Fact]
    public async Task RealProcess_GetsItsEnvironment_WritesItsLog_RestartsOnFailure_AndStopsOnDelete()
    {
        var driver = new HostProcessDriver();
        Assert.True((await driver.FingerprintAsync(CancellationToken.None)).Healthy, "/bin/sh is needed (apt-get install dash)");
        await using var host = new PodTestHost(driver: null);
        host.ExtraDrivers.Add(driver);
        await host.RestartAgentAsync();
        try
        {
            await host.ApplyAsync(new ConfigMap { Metadata = new() { Name = "greeting", Namespace = "default" }, Data = new() { ["who"] = "world" } });
            var marker = Path.Combine(host.DataDir, "ran-once");
            var pod = PodTestHost.MakePod("real", "OnFailure", new Container
            {
                Name = "app",
                Command = ["/bin/sh", "-c", "echo \"hello $(WHO) from $POD_NAME\"; if [ ! -e " + marker + " ]; then touch " + marker + "; exit 3; fi; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"],
                Env =
                [
                    new EnvVar { Name = "WHO", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new KeySelector { Name = "greeting", Key = "who" } } },
                    new EnvVar { Name = "POD_NAME", ValueFrom = new EnvVarSource { FieldRef = new ObjectFieldSelector { FieldPath = "metadata.name" } } },
                ],
            });
            pod.Spec.RuntimeClassName = "process";
            await host.ApplyAsync(pod);

            // The first run exits 3 and is restarted at once; the second keeps running.
            await PodTestHost.Eventually(() => host.Container(pod)?.RestartCount == 1 && host.Container(pod)?.State?.Running is not null, "restarted after exit 3");
            Assert.Equal(3, host.Container(pod)!.LastState!.Terminated!.ExitCode);
            await using var logs = new LogManager(host.DataDir, host.Manager, new LogOptions(), TimeProvider.System, NullLogger.Instance);
            string Read(bool previous) => ReadAll(logs.ReadAsync(new LogQuery("default", "real", null, false, null, previous, null, null, false), CancellationToken.None)).GetAwaiter().GetResult();
            Assert.Equal("hello world from real\n", Read(previous: true));
            await PodTestHost.Eventually(() => Read(previous: false) == "hello world from real\n", "second run's log");
            var pid = int.Parse(host.State.GetTask("uid-real", "app")!.Handle!.State);
            Assert.False(HasExited(pid));

            await host.DeleteAsync(DesiredKind.Pod, "default", "real");

            await PodTestHost.Eventually(() => !Directory.Exists(Path.Combine(host.DataDir, "pods", "uid-real")), "pod cleaned up");
            Assert.True(HasExited(pid), "the process should be gone after the pod was deleted");
        }
        finally
        {
            driver.KillAll();
        }
    }

    private static bool HasExited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static async Task<string> ReadAll(IAsyncEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        var text = new StringBuilder();
        await foreach (var chunk in chunks)
        {
            text.Append(Encoding.UTF8.GetString(chunk.Span));
        }

        return text.ToString();
    }
}
