using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Channel;
using Verge.Agent.Drivers;
using Verge.Agent.Drivers.HostProcess;
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ProcessIgnoringTerm_IsKilled_WhenALaterDeleteShortensTheGracePeriod(bool force)
    {
        await using var host = new PodTestHost(driver: null);
        var driver = new ProcessDriver(new ProcessDriverOptions { StateDirectory = Path.Combine(host.DataDir, "process") }, NullLogger<ProcessDriver>.Instance, TimeProvider.System);
        Assert.True((await driver.FingerprintAsync(CancellationToken.None)).Healthy, "/bin/sh and setsid are needed (apt-get install dash util-linux)");
        host.ExtraDrivers.Add(driver);
        await host.RestartAgentAsync();
        TaskHandle? handle = null;
        try
        {
            var pod = PodTestHost.MakePod("stubborn", "Always", new Container { Name = "app", Command = ["/bin/sh", "-c", "trap '' TERM; sleep 1000"] });
            pod.Spec.RuntimeClassName = "process";
            await host.ApplyAsync(pod);
            await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
            handle = host.State.GetTask("uid-stubborn", "app")!.Handle!;

            // An hour to stop, of which the container takes no notice: TERM is ignored by the shell and its sleep.
            await host.MarkDeletedAsync(pod, 3600);
            await PodTestHost.Eventually(() => host.Publisher.Events.Any(e => e.Reason == "Killing"), "termination started");
            Assert.Equal(TaskPhase.Running, (await driver.InspectAsync(handle, CancellationToken.None)).Phase);

            // kubectl delete --grace-period=1, or --grace-period=0 --force (the pod leaves local state).
            if (force)
            {
                await host.DeleteAsync(DesiredKind.Pod, "default", "stubborn");
            }
            else
            {
                await host.MarkDeletedAsync(pod, 1);
            }

            // Killed long before the hour: the runtime saw the task end by SIGKILL, and the pod is cleaned up.
            await PodTestHost.Eventually(() => host.Manager.TrackedPods == 0 && host.State.ListTasks("uid-stubborn").Count == 0, "killed and cleaned up", seconds: 60);
            var killed = host.Container(pod)!.State!.Terminated!;
            Assert.Equal((137, 9), (killed.ExitCode, killed.Signal));
            if (!force)
            {
                Assert.Equal(1, host.Publisher.TerminatedCount("uid-stubborn"));
            }
        }
        finally
        {
            if (handle is not null)
            {
                await driver.StopAsync(handle, TimeSpan.Zero, CancellationToken.None);
                await driver.DestroyAsync(handle, CancellationToken.None);
            }
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
