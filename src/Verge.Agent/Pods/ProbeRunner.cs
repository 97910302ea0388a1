using System.Net.Security;
using System.Net.Sockets;
using Verge.Agent.Drivers;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

internal enum ProbeKind
{
    Startup,
    Liveness,
    Readiness,
}

/// <summary>One probe outcome; Output is what the Unhealthy event shows.</summary>
internal sealed record ProbeOutcome(bool Success, string Output);

/// <summary>A probe with kubelet's defaults applied.</summary>
internal sealed record ProbeSettings(Probe Probe, TimeSpan InitialDelay, TimeSpan Period, TimeSpan Timeout, int SuccessThreshold, int FailureThreshold)
{
    public static ProbeSettings From(Probe probe, ProbeKind kind) => new(
        probe,
        TimeSpan.FromSeconds(Math.Max(0, probe.InitialDelaySeconds ?? 0)),
        TimeSpan.FromSeconds(Math.Max(1, probe.PeriodSeconds ?? 10)),
        TimeSpan.FromSeconds(Math.Max(1, probe.TimeoutSeconds ?? 1)),
        kind == ProbeKind.Readiness ? Math.Max(1, probe.SuccessThreshold ?? 1) : 1,
        Math.Max(1, probe.FailureThreshold ?? 3));
}

/// <summary>
/// Runs probe actions: exec through the driver, HTTP GET to the pod IP (the host IP for hostNetwork pods; 2xx and 3xx
/// succeed, TLS is not verified, as kubelet does), and TCP connect.
/// </summary>
internal static class ProbeRunner
{
    // kubelet does not verify the certificate of an HTTPS probe: a probe checks liveness, not identity.
#pragma warning disable CA5359
    internal static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = AcceptAnyCertificate },
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
#pragma warning restore CA5359

    public static async Task<ProbeOutcome> RunAsync(
        ProbeSettings settings,
        Container container,
        IWorkloadDriver driver,
        TaskHandle handle,
        string? address,
        CancellationToken ct)
    {
        var probe = settings.Probe;
        try
        {
            if (probe.Exec is { } exec)
            {
                var result = await driver.ExecAsync(handle, exec.Command ?? [], settings.Timeout, ct);
                return result.TimedOut
                    ? new ProbeOutcome(false, $"command timed out after {settings.Timeout.TotalSeconds:0}s")
                    : new ProbeOutcome(result.ExitCode == 0, result.Output.Trim());
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(settings.Timeout);
            if (probe.HttpGet is { } get)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, HttpGetUri(get, container, address));
                request.Headers.UserAgent.ParseAdd("kube-probe/1.32");
                foreach (var header in get.HttpHeaders ?? [])
                {
                    if (string.Equals(header.Name, "Host", StringComparison.OrdinalIgnoreCase))
                    {
                        request.Headers.Host = header.Value;
                    }
                    else
                    {
                        request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                    }
                }

                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                var code = (int)response.StatusCode;
                return code is >= 200 and < 400
                    ? new ProbeOutcome(true, "")
                    : new ProbeOutcome(false, $"HTTP probe failed with statuscode: {code}");
            }

            if (probe.TcpSocket is { } tcp)
            {
                var host = string.IsNullOrEmpty(tcp.Host) ? address : tcp.Host;
                var port = ResolvePort(tcp.Port, container);
                using var client = new TcpClient();
                await client.ConnectAsync(host ?? "127.0.0.1", port, timeout.Token);
                return new ProbeOutcome(true, "");
            }

            return new ProbeOutcome(false, "probe has no handler (exec, httpGet or tcpSocket)");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new ProbeOutcome(false, $"probe timed out after {settings.Timeout.TotalSeconds:0}s");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or DriverException or UriFormatException or ArgumentException)
        {
            return new ProbeOutcome(false, e.Message);
        }
    }

    private static bool AcceptAnyCertificate(object sender, System.Security.Cryptography.X509Certificates.X509Certificate? certificate,
        System.Security.Cryptography.X509Certificates.X509Chain? chain, SslPolicyErrors errors) => true;

    /// <summary>Where an httpGet handler (a probe's or a lifecycle hook's) sends its request: its host, else the container's address.</summary>
    internal static Uri HttpGetUri(HttpGetAction get, Container container, string? address)
    {
        var host = string.IsNullOrEmpty(get.Host) ? address : get.Host;
        var scheme = string.Equals(get.Scheme, "HTTPS", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
        var path = string.IsNullOrEmpty(get.Path) ? "/" : get.Path.StartsWith('/') ? get.Path : "/" + get.Path;
        return new Uri($"{scheme}://{FormatHost(host)}:{ResolvePort(get.Port, container)}{path}");
    }

    private static string FormatHost(string? host) =>
        string.IsNullOrEmpty(host) ? "127.0.0.1" : host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;

    private static int ResolvePort(Verge.Core.Quantities.IntOrString port, Container container)
    {
        if (!port.IsString)
        {
            return port.IntValue;
        }

        var named = container.Ports?.FirstOrDefault(p => p.Name == port.StringValue)
            ?? throw new ArgumentException($"port \"{port.StringValue}\" is not a named port of container {container.Name}");
        return named.Port;
    }
}
