using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Verge.Gateway.Auth;

namespace Verge.Gateway.Ingest;

/// <summary>
/// The HTTP ingest endpoint for devices that cannot speak MQTT: <c>POST /v1/devices/{name}/telemetry</c> with Basic
/// auth (the device's name and password, as on MQTT) and a JSON body. An accepted body enters the gateway exactly as
/// an MQTT publish on <c>devices/{name}/telemetry</c> would.
/// <para>
/// Built on <see cref="HttpListener"/> rather than Kestrel: one route, a few requests per device, and no ASP.NET
/// Core framework in the Native AOT agent (HttpListener is part of the BCL, managed on Linux and trim safe).
/// </para>
/// </summary>
internal sealed partial class HttpIngest(
    IPEndPoint endpoint,
    Func<DeviceDirectory> directory,
    int maxMessageBytes,
    Func<string, byte[], CancellationToken, Task<bool>> accept,
    GatewayCounters counters,
    ILogger logger) : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start()
    {
        var host = endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString();
        _listener.Prefixes.Add($"http://{host}:{endpoint.Port}/");
        _listener.Start();
        _loop = Task.Run(() => AcceptLoopAsync(_stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_listener.IsListening)
        {
            _listener.Stop();
        }

        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
            }
        }

        _listener.Close();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context, ct), ct);
        }
    }

    private async Task HandleAsync(HttpListenerContext context, CancellationToken ct)
    {
        var response = context.Response;
        try
        {
            var (status, message) = await ProcessAsync(context.Request, ct);
            if (status == HttpStatusCode.Accepted)
            {
                counters.AddIngestAccepted();
            }
            else
            {
                counters.AddIngestRefused();
            }

            if (status == HttpStatusCode.Unauthorized)
            {
                response.AddHeader("WWW-Authenticate", "Basic realm=\"verge-gateway\"");
            }

            response.StatusCode = (int)status;
            response.ContentType = "application/json";
            var body = Encoding.UTF8.GetBytes($"{{\"status\":{(int)status},\"message\":\"{message}\"}}");
            response.ContentLength64 = body.Length;
            await response.OutputStream.WriteAsync(body, ct);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            Log.RequestFailed(logger, e.Message);
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task<(HttpStatusCode Status, string Message)> ProcessAsync(HttpListenerRequest request, CancellationToken ct)
    {
        var path = request.Url?.AbsolutePath ?? "";
        var parts = path.Split('/');
        if (parts.Length != 5 || parts[0].Length != 0 || parts[1] != "v1" || parts[2] != "devices" || parts[3].Length == 0 || parts[4] != "telemetry")
        {
            return (HttpStatusCode.NotFound, "not found: the endpoint is POST /v1/devices/{name}/telemetry");
        }

        if (request.HttpMethod != "POST")
        {
            return (HttpStatusCode.MethodNotAllowed, "only POST is allowed");
        }

        var device = Uri.UnescapeDataString(parts[3]);
        if (!TryBasic(request.Headers["Authorization"], out var user, out var password))
        {
            return (HttpStatusCode.Unauthorized, "Basic credentials are required");
        }

        var dir = directory();
        if (!dir.CheckDevice(user, password))
        {
            return (HttpStatusCode.Unauthorized, "unknown device or wrong password");
        }

        if (user != device)
        {
            return (HttpStatusCode.Forbidden, "a device may only post its own telemetry");
        }

        if (request.ContentLength64 > maxMessageBytes)
        {
            return (HttpStatusCode.RequestEntityTooLarge, $"the body is larger than {maxMessageBytes} bytes");
        }

        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.InputStream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > maxMessageBytes)
            {
                return (HttpStatusCode.RequestEntityTooLarge, $"the body is larger than {maxMessageBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        var payload = buffer.ToArray();
        if (!IsJson(payload))
        {
            return (HttpStatusCode.BadRequest, "the body is not valid JSON");
        }

        // 202 only once the message's upstream outputs are durable, like a PUBACK on MQTT.
        return await accept(device, payload, ct)
            ? (HttpStatusCode.Accepted, "accepted")
            : (HttpStatusCode.ServiceUnavailable, "the gateway could not store the message; send it again");
    }

    private static bool TryBasic(string? header, out string user, out byte[] password)
    {
        user = "";
        password = [];
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(header[6..].Trim());
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = Array.IndexOf(decoded, (byte)':');
        if (colon <= 0)
        {
            return false;
        }

        user = Encoding.UTF8.GetString(decoded, 0, colon);
        password = decoded[(colon + 1)..];
        return true;
    }

    private static bool IsJson(byte[] payload)
    {
        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(payload);
            while (reader.Read())
            {
            }

            return payload.Length > 0;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6321, Level = LogLevel.Debug, Message = "HTTP ingest request failed: {Reason}")]
        public static partial void RequestFailed(ILogger logger, string reason);
    }
}
