using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// The agent end to end: a real server, a real registry, and <c>verge agent</c> in its own network namespace running
/// pods as runc containers. The tests share one cluster and run one after another.
/// </summary>
[Collection(EdgeClusterGroup.Name)]
public sealed class AgentWorkloadTests(EdgeCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan PodTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task SeedDeployment_RunsTwoServingReplicasOnTheNode()
    {
        var manifest = Path.Combine(Verge.RepoRoot, "examples", "edge-microservice.yaml");
        await cluster.Kubectl.OkAsync("apply", "-f", manifest);
        try
        {
            var pods = await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var items = await cluster.PodsAsync("app=edge-microservice");
                    var running = items.Where(p => (string?)p!["status"]?["phase"] == "Running" && (string?)p["status"]?["podIP"] is { Length: > 0 }).ToList();
                    return running.Count == 2 ? running : null;
                },
                PodTimeout,
                () => cluster.Kubectl.OkAsync("get", "pods", "-o", "wide"));

            var wide = await cluster.Kubectl.OkAsync("get", "pods", "-l", "app=edge-microservice", "-o", "wide");
            output.WriteLine(wide);
            Assert.Equal(2, wide.Split('\n').Count(l => l.Contains("Running", StringComparison.Ordinal) && l.Contains(EdgeCluster.NodeName, StringComparison.Ordinal)));
            var ips = pods.Select(p => (string)p!["status"]!["podIP"]!).ToList();
            Assert.Equal(2, ips.Distinct().Count());
            Assert.All(pods, p => Assert.Equal(EdgeCluster.NodeName, (string?)p!["spec"]!["nodeName"]));

            // Both serve on their own pod IP, port 8080, as seen from the node (the agent's namespace).
            foreach (var ip in ips)
            {
                EdgeTools.Result? last = null;
                await EdgeTools.EventuallyAsync(
                    async () =>
                    {
                        last = await EdgeTools.ExecAsync("ip", ["netns", "exec", cluster.Link.Name, "curl", "-sS", "--max-time", "5", $"http://{ip}:8080/"]);
                        return last.ExitCode == 0 ? last : null;
                    },
                    TimeSpan.FromSeconds(30),
                    () => Task.FromResult($"GET http://{ip}:8080/ from the node: exit {last?.ExitCode} {last?.Stderr}{last?.Stdout}"));
                Assert.Contains(EdgeImages.IndexHtml, last!.Stdout, StringComparison.Ordinal);
            }

            var name = (string)pods[0]!["metadata"]!["name"]!;
            var logs = await cluster.Kubectl.OkAsync("logs", name);
            Assert.Contains(EdgeImages.StartLine, logs, StringComparison.Ordinal);

            // kubectl exec through the agent's link, into the runc container: its files, stdout and stderr apart,
            // the exit code kubectl exits with, stdin to its end, and a terminal.
            var exec = await cluster.Kubectl.RunAsync("exec", name, "--", "sh", "-c", "cat /www/index.html; echo to-stderr >&2; exit 3");
            Assert.True(exec.ExitCode == 3, exec.ToString());
            Assert.Contains(EdgeImages.IndexHtml, exec.Stdout, StringComparison.Ordinal);
            Assert.Contains("to-stderr", exec.Stderr, StringComparison.Ordinal);
            Assert.Contains("command terminated with exit code 3", exec.Stderr, StringComparison.Ordinal);

            var piped = await cluster.Kubectl.RunWithInputAsync("one\ntwo\nthree\n", "exec", "-i", name, "--", "sh", "-c", "wc -l; hostname");
            Assert.True(piped.ExitCode == 0, piped.ToString());
            Assert.Equal(["3", name], piped.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

            // kubectl asks for a terminal (-t) only when its own stdin is one: script gives it one.
            var terminal = await EdgeTools.ExecAsync("script", ["-qec", $"kubectl --kubeconfig {cluster.Server.Kubeconfig} --cache-dir {cluster.Kubectl.CacheDir} exec -it {name} -- sh -c 'test -t 0 && echo on-a-terminal'", "/dev/null"]);
            Assert.True(terminal.ExitCode == 0, $"exit {terminal.ExitCode}: {terminal.Stdout}{terminal.Stderr}");
            Assert.Contains("on-a-terminal", terminal.Stdout, StringComparison.Ordinal);

            var missing = await cluster.Kubectl.RunAsync("exec", name, "-c", "nope", "--", "true");
            Assert.NotEqual(0, missing.ExitCode);
            Assert.Contains($"container nope is not valid for pod {name}", missing.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await cluster.Kubectl.RunAsync("delete", "-f", manifest, "--wait=false");
            await cluster.Kubectl.RunAsync("delete", "pods", "-l", "app=edge-microservice", "--grace-period=0", "--force", "--wait=false");
        }
    }

    [Fact]
    public async Task DeletedPod_RunsItsPreStopHook_StaysTerminatingUntilTheAgentHasStoppedIt_ThenKubectlDeleteReturns()
    {
        const string name = "e2e-graceful";
        await cluster.ApplyAsync(Pod(name, """
                command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 1; done"]
                lifecycle:
                  preStop:
                    exec:
                      command: ["sh", "-c", "echo deregistering; exit 3"]
            """).Replace("terminationGracePeriodSeconds: 1", "terminationGracePeriodSeconds: 20", StringComparison.Ordinal));
        using var watch = System.Diagnostics.Process.Start(cluster.Kubectl.StartInfo("get", "pod", name, "-w", "--output-watch-events"))!;
        watch.StandardInput.Close();
        var rows = new List<string>();
        var reading = Task.Run(async () =>
        {
            while (await watch.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (rows)
                {
                    rows.Add(line);
                }
            }
        });
        try
        {
            await EdgeTools.EventuallyAsync(
                async () => (string?)(await cluster.PodAsync(name))?["status"]?["containerStatuses"]?[0]?["state"]?["running"]?["startedAt"] is not null ? "running" : null,
                PodTimeout,
                async () => (await cluster.PodAsync(name))?["status"]?.ToJsonString() ?? "no pod");

            // kubectl delete waits until the pod is gone: the agent stops it (TERM, which the script honours) and
            // then confirms; until then the pod is Terminating.
            var deleted = await cluster.Kubectl.RunAsync("delete", "pod", name, "--timeout=60s");
            Assert.True(deleted.ExitCode == 0, deleted.ToString());
            Assert.Contains($"pod \"{name}\" deleted", deleted.Stdout, StringComparison.Ordinal);
            Assert.Null(await cluster.PodAsync(name));

            await EdgeTools.EventuallyAsync(
                () => Task.FromResult(Snapshot(rows).Any(r => r.StartsWith("DELETED", StringComparison.Ordinal)) ? "deleted" : null),
                TimeSpan.FromSeconds(30),
                () => Task.FromResult(string.Join('\n', Snapshot(rows))));
            var seen = Snapshot(rows);
            output.WriteLine(string.Join('\n', seen));
            var terminating = seen.FindIndex(r => r.StartsWith("MODIFIED", StringComparison.Ordinal) && r.Contains("Terminating", StringComparison.Ordinal));
            Assert.True(terminating >= 0, "the pod was seen Terminating:\n" + string.Join('\n', seen));
            Assert.True(terminating < seen.FindIndex(r => r.StartsWith("DELETED", StringComparison.Ordinal)));
            var events = await cluster.EventsAsync(name);
            Assert.Contains("Killing: Stopping container app", events, StringComparison.Ordinal);

            // The preStop hook ran in the container first (it fails on purpose, which does not stop the deletion).
            Assert.Contains("FailedPreStopHook: Exec lifecycle hook ([sh -c echo deregistering; exit 3]) for Container \"app\"", events, StringComparison.Ordinal);
            Assert.Contains("exited with 3: deregistering", events, StringComparison.Ordinal);
        }
        finally
        {
            watch.Kill();
            await reading.WaitAsync(TimeSpan.FromSeconds(10));
            await cluster.DeletePodsAsync(name);
        }
    }

    [Fact]
    public async Task SidecarOfAJobLikePod_ServesTheAppThroughItsRun_AndIsStoppedWhenTheAppCompletes()
    {
        const string name = "e2e-sidecar";
        await cluster.ApplyAsync($$"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: {{name}}
            spec:
              nodeName: {{EdgeCluster.NodeName}}
              restartPolicy: Never
              terminationGracePeriodSeconds: 20
              initContainers:
              - name: proxy
                image: busybox:e2e
                restartPolicy: Always
                command: ["sh", "-c", "trap 'echo proxy got TERM; exit 0' TERM; echo ok > /shared/ready; while true; do sleep 1; done"]
                startupProbe:
                  exec:
                    command: ["test", "-f", "/shared/ready"]
                  periodSeconds: 1
                volumeMounts:
                - name: shared
                  mountPath: /shared
              containers:
              - name: app
                image: busybox:e2e
                command: ["sh", "-c", "cat /shared/ready && sleep 2"]
                volumeMounts:
                - name: shared
                  mountPath: /shared
              volumes:
              - name: shared
                emptyDir: {}
            """);
        try
        {
            await EdgeTools.EventuallyAsync(
                async () => (string?)(await cluster.PodAsync(name))?["status"]?["phase"] is "Succeeded" or "Failed" ? "done" : null,
                PodTimeout,
                async () => (await cluster.PodAsync(name))?["status"]?.ToJsonString() ?? "no pod");

            var pod = (await cluster.PodAsync(name))!;
            output.WriteLine(pod["status"]!.ToJsonString());
            Assert.Equal("Succeeded", (string?)pod["status"]!["phase"]);
            Assert.Equal(0, (int?)pod["status"]!["containerStatuses"]![0]!["state"]!["terminated"]!["exitCode"]);
            var proxy = pod["status"]!["initContainerStatuses"]![0]!;
            Assert.Equal(0, (int?)proxy["state"]!["terminated"]!["exitCode"]);
            Assert.Equal("ok", (await cluster.Kubectl.OkAsync("logs", name, "-c", "app")).Trim());
            Assert.Contains("proxy got TERM", await cluster.Kubectl.OkAsync("logs", name, "-c", "proxy"), StringComparison.Ordinal);
            Assert.Contains("Killing: Stopping container proxy", await cluster.EventsAsync(name), StringComparison.Ordinal);
        }
        finally
        {
            await cluster.DeletePodsAsync(name);
        }
    }

    [Fact]
    public async Task RestrictedPodWithHostAliasesDnsConfigAndDownwardApi_AppliedWithKubectl_RunsConfinedWithItsFiles()
    {
        const string name = "e2e-restricted";
        await cluster.ApplyAsync($$"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: {{name}}
              labels:
                tier: edge
            spec:
              nodeName: {{EdgeCluster.NodeName}}
              restartPolicy: Never
              securityContext:
                runAsNonRoot: true
                runAsUser: 1000
                fsGroup: 2000
                seccompProfile:
                  type: RuntimeDefault
              hostAliases:
              - ip: 10.1.2.3
                hostnames: [historian.plant.local]
              dnsPolicy: None
              dnsConfig:
                nameservers: [10.0.0.53]
                searches: [plant.local]
                options:
                - name: ndots
                  value: "2"
              containers:
              - name: app
                image: busybox:e2e
                command: ["sh", "-c", "id -u; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; grep historian /etc/hosts; cat /etc/resolv.conf; cat /podinfo/labels; echo; touch /scratch/f && stat -c 'scratch-group=%g' /scratch/f; unshare -U true 2>/dev/null && echo unshare-allowed || echo unshare-refused"]
                securityContext:
                  allowPrivilegeEscalation: false
                  capabilities:
                    drop: [ALL]
                volumeMounts:
                - name: podinfo
                  mountPath: /podinfo
                - name: scratch
                  mountPath: /scratch
              volumes:
              - name: scratch
                emptyDir: {}
              - name: podinfo
                downwardAPI:
                  items:
                  - path: labels
                    fieldRef:
                      fieldPath: metadata.labels
            """);
        try
        {
            await EdgeTools.EventuallyAsync(
                async () => (string?)(await cluster.PodAsync(name))?["status"]?["phase"] is "Succeeded" or "Failed" ? "done" : null,
                PodTimeout,
                async () => (await cluster.PodAsync(name))?["status"]?.ToJsonString() ?? "no pod");
            var log = await cluster.Kubectl.OkAsync("logs", name);
            output.WriteLine(log);
            Assert.Equal("Succeeded", (string?)(await cluster.PodAsync(name))!["status"]!["phase"]);
            var lines = log.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("1000", lines[0]);
            Assert.Contains("CapEff:\t0000000000000000", lines);
            Assert.Contains("NoNewPrivs:\t1", lines);
            Assert.Contains("Seccomp:\t2", lines);
            Assert.Contains("10.1.2.3\thistorian.plant.local", lines);
            Assert.Contains("search plant.local", lines);
            Assert.Contains("nameserver 10.0.0.53", lines);
            Assert.Contains("options ndots:2", lines);
            Assert.Contains("tier=\"edge\"", lines);
            Assert.Contains("scratch-group=2000", lines);
            Assert.Equal("unshare-refused", lines[^1]);
        }
        finally
        {
            await cluster.DeletePodsAsync(name);
        }
    }

    private static List<string> Snapshot(List<string> rows)
    {
        lock (rows)
        {
            return [.. rows];
        }
    }

    [Fact]
    public async Task MemoryLimit_WhenExceeded_ContainerIsOomKilledAndRestartedWithBackOff()
    {
        await cluster.ApplyAsync(Pod("e2e-oom", """
                command: ["sh", "-c", "echo allocating; x=$$(head -c 96m /dev/zero | tr '\\0' a); echo survived"]
                resources:
                  limits:
                    memory: 32Mi
            """));
        try
        {
            var status = await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var pod = await cluster.PodAsync("e2e-oom");
                    var container = pod?["status"]?["containerStatuses"]?[0];
                    var terminated = container?["lastState"]?["terminated"] ?? container?["state"]?["terminated"];
                    return container is not null && (string?)terminated?["reason"] == "OOMKilled" && (int?)container["restartCount"] >= 1
                        ? container
                        : null;
                },
                PodTimeout,
                async () => (await cluster.PodAsync("e2e-oom"))?["status"]?.ToJsonString() ?? "no pod");

            var lastState = status["lastState"]?["terminated"] ?? status["state"]!["terminated"]!;
            Assert.Equal(137, (int)lastState["exitCode"]!);

            // It keeps failing, so the restarts are spaced by back-off.
            await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var pod = await cluster.PodAsync("e2e-oom");
                    var waiting = (string?)pod?["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"];
                    var events = await cluster.EventsAsync("e2e-oom");
                    return waiting == "CrashLoopBackOff" || events.Contains("BackOff", StringComparison.Ordinal) ? "backing off" : null;
                },
                PodTimeout,
                () => cluster.EventsAsync("e2e-oom"));
            Assert.False(cluster.Agent.HasExited, cluster.Agent.Output);
        }
        finally
        {
            await cluster.DeletePodsAsync("e2e-oom");
        }
    }

    [Fact]
    public async Task Liveness_WhenProbeFails_ContainerIsRestartedWithUnhealthyEventsAndBackOff()
    {
        await cluster.ApplyAsync(Pod("e2e-liveness", """
                command: ["sh", "-c", "echo started; exec sleep 3600"]
                livenessProbe:
                  exec:
                    command: ["cat", "/tmp/healthy"]
                  periodSeconds: 1
                  failureThreshold: 1
            """));
        try
        {
            await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var pod = await cluster.PodAsync("e2e-liveness");
                    var container = pod?["status"]?["containerStatuses"]?[0];
                    var waiting = (string?)container?["state"]?["waiting"]?["reason"];
                    var events = await cluster.EventsAsync("e2e-liveness");
                    return (int?)container?["restartCount"] >= 1
                        && events.Contains("Unhealthy", StringComparison.Ordinal)
                        && (waiting == "CrashLoopBackOff" || events.Contains("BackOff", StringComparison.Ordinal))
                        ? container
                        : null;
                },
                PodTimeout,
                async () => $"{(await cluster.PodAsync("e2e-liveness"))?["status"]?.ToJsonString()}\nevents:\n{await cluster.EventsAsync("e2e-liveness")}");
            output.WriteLine(await cluster.EventsAsync("e2e-liveness"));
        }
        finally
        {
            await cluster.DeletePodsAsync("e2e-liveness");
        }
    }

    [Fact]
    public async Task Join_WithInvalidOrExpiredToken_AgentExitsNonZeroWithAClearMessage()
    {
        var valid = await cluster.CreateTokenAsync("24h");
        var forged = valid[..(valid.LastIndexOf('.') + 1)] + "0000000000000000";
        await AssertJoinRefusedAsync(forged, "forged");

        var shortLived = await cluster.CreateTokenAsync("1s");
        var expiresAt = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
        while (DateTime.UtcNow < expiresAt)
        {
            await Task.Delay(100);
        }

        await AssertJoinRefusedAsync(shortLived, "expired");
    }

    [Fact]
    public async Task Pull_WhenImageIsMissing_ShowsErrImagePullWithTheReason()
    {
        await cluster.ApplyAsync(Pod("e2e-noimage", "", image: "no-such-image:v1"));
        try
        {
            var waiting = await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var pod = await cluster.PodAsync("e2e-noimage");
                    var state = pod?["status"]?["containerStatuses"]?[0]?["state"]?["waiting"];
                    return (string?)state?["reason"] is "ErrImagePull" or "ImagePullBackOff" && (string?)state!["message"] is { Length: > 0 }
                        ? state
                        : null;
                },
                PodTimeout,
                async () => (await cluster.PodAsync("e2e-noimage"))?["status"]?.ToJsonString() ?? "no pod");
            output.WriteLine(waiting.ToJsonString());
            Assert.Contains("no-such-image", (string)waiting["message"]!, StringComparison.Ordinal);
            Assert.False(cluster.Agent.HasExited, cluster.Agent.Output);
        }
        finally
        {
            await cluster.DeletePodsAsync("e2e-noimage");
        }
    }

    [Fact]
    public async Task RuntimeClass_WhenUnknown_PodShowsAClearStatus()
    {
        var apply = await cluster.Kubectl.RunWithInputAsync(Pod("e2e-gvisor", "", runtimeClass: "gvisor"), "apply", "-f", "-");
        try
        {
            if (apply.ExitCode != 0)
            {
                // Refused at admission: the refusal must say why.
                Assert.Contains("gvisor", apply.Stderr, StringComparison.Ordinal);
                return;
            }

            var status = await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var pod = await cluster.PodAsync("e2e-gvisor");
                    var text = pod?["status"]?.ToJsonString() ?? "";
                    return text.Contains("gvisor", StringComparison.Ordinal) ? text : null;
                },
                PodTimeout,
                async () => $"{(await cluster.PodAsync("e2e-gvisor"))?["status"]?.ToJsonString()}\nevents:\n{await cluster.EventsAsync("e2e-gvisor")}");
            output.WriteLine(status);
            Assert.False(cluster.Agent.HasExited, cluster.Agent.Output);
        }
        finally
        {
            await cluster.DeletePodsAsync("e2e-gvisor");
        }
    }

    [Fact]
    public async Task Pull_WhenRegistryServesACorruptBlob_FailsWithDigestMismatch()
    {
        var digest = await EdgeImages.ConfigDigestAsync(cluster.Registry, "corrupt", "v1");
        var path = cluster.Registry.BlobDataPath(digest);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x20;
        await File.WriteAllBytesAsync(path, bytes);

        await cluster.ApplyAsync(Pod("e2e-corrupt", "", image: "corrupt:v1"));
        try
        {
            var text = await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var status = (await cluster.PodAsync("e2e-corrupt"))?["status"]?.ToJsonString() ?? "";
                    var all = status + "\n" + await cluster.EventsAsync("e2e-corrupt");
                    return all.Contains("digest mismatch", StringComparison.Ordinal) ? all : null;
                },
                PodTimeout,
                async () => $"{(await cluster.PodAsync("e2e-corrupt"))?["status"]?.ToJsonString()}\nevents:\n{await cluster.EventsAsync("e2e-corrupt")}");
            output.WriteLine(text);
            Assert.False(cluster.Agent.HasExited, cluster.Agent.Output);
        }
        finally
        {
            await cluster.DeletePodsAsync("e2e-corrupt");
        }
    }

    private async Task AssertJoinRefusedAsync(string token, string what)
    {
        var dataDir = cluster.NewAgentDir();
        var agent = cluster.Track(AgentProcess.Start(dataDir, cluster.AgentArgs($"e2e-refused-{what}", token, "10.216.0.0/24")));
        var exit = await agent.WaitForExitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"{what} token: exit {exit}\n{agent.Output}");
        Assert.NotEqual(0, exit);
        Assert.Contains("token", agent.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Unhandled exception", agent.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dataDir, "identity")), $"a refused join left an identity behind ({what} token)");
    }

    /// <summary>A one-container pod on the shared node; <paramref name="containerExtra"/> is indented YAML for the container.</summary>
    private static string Pod(string name, string containerExtra, string image = "busybox:e2e", string? runtimeClass = null) => $"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
        spec:
          nodeName: {EdgeCluster.NodeName}
          terminationGracePeriodSeconds: 1
        {(runtimeClass is null ? "" : $"  runtimeClassName: {runtimeClass}")}
          containers:
          - name: app
            image: {image}
        {containerExtra}
        """;
}
