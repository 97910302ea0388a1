using System.Net.Sockets;
using Verge.Agent.Drivers;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>
/// Runs a container's <c>postStart</c> and <c>preStop</c> hooks as the kubelet does: an exec in the container, an
/// HTTP GET (any response counts as done; only a request that fails is a failure), or a sleep. A <c>tcpSocket</c>
/// handler is accepted by validation for compatibility and, as in Kubernetes, does nothing.
/// </summary>
internal static class LifecycleHooks
{
    /// <summary>Runs the hook within <paramref name="timeout"/>; null when it succeeded, else the kubelet's failure message.</summary>
    public static async Task<string?> RunAsync(
        LifecycleHandler hook,
        Container container,
        string podDescription,
        IWorkloadDriver driver,
        TaskHandle handle,
        string? address,
        TimeSpan timeout,
        TimeProvider time,
        CancellationToken ct)
    {
        if (hook.Exec is { } exec)
        {
            var command = exec.Command ?? [];
            string? error = null;
            var output = "";
            try
            {
                var result = await driver.ExecAsync(handle, command, timeout, ct);
                output = result.Output;
                error = result.TimedOut
                    ? $"command '{string.Join(' ', command)}' timed out after {timeout.TotalSeconds:0}s"
                    : result.ExitCode != 0 ? $"command '{string.Join(' ', command)}' exited with {result.ExitCode}: {result.Output.Trim()}" : null;
            }
            catch (DriverException e)
            {
                error = e.Message;
            }

            return error is null
                ? null
                : $"Exec lifecycle hook ([{string.Join(' ', command)}]) for Container \"{container.Name}\" in Pod \"{podDescription}\" failed - error: {error}, message: \"{output.Trim()}\"";
        }

        if (hook.HttpGet is { } get)
        {
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
                deadline.CancelAfter(timeout);
                using var request = new HttpRequestMessage(HttpMethod.Get, ProbeRunner.HttpGetUri(get, container, address));
                foreach (var header in get.HttpHeaders ?? [])
                {
                    request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                }

                using var response = await ProbeRunner.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                return null;
            }
            catch (Exception e) when (e is HttpRequestException or SocketException or IOException or UriFormatException or ArgumentException
                or OperationCanceledException && !ct.IsCancellationRequested)
            {
                var error = e is OperationCanceledException ? $"timed out after {timeout.TotalSeconds:0}s" : e.Message;
                return $"HTTP lifecycle hook ({get.Path}) for Container \"{container.Name}\" in Pod \"{podDescription}\" failed - error: {error}";
            }
        }

        if (hook.Sleep is { } sleep)
        {
            var wanted = TimeSpan.FromSeconds(Math.Max(0, sleep.Seconds));
            await Task.Delay(timeout == Timeout.InfiniteTimeSpan || wanted < timeout ? wanted : timeout, time, ct);
        }

        return null;
    }
}
