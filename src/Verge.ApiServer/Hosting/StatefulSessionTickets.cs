using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Verge.ApiServer.Hosting;

/// <summary>
/// Makes the server's TLS 1.3 session tickets stateful: a ticket is a session id of a few dozen bytes, and the session
/// (with the client's certificate) stays in OpenSSL's server-side session cache. By default OpenSSL issues stateless
/// tickets, the whole session encrypted, so every resumed node channel reconnect carries the node's certificate up
/// inside the ClientHello and a fresh copy of it down in the next ticket: about 1.2 KB of a 3.3 KB resync.
/// </summary>
/// <remarks>
/// .NET offers no setting for this (its Linux server contexts enable the session cache and stateless tickets), so
/// this sets OpenSSL's <c>SSL_OP_NO_TICKET</c> and one ticket per handshake on the server's SSL context, which .NET
/// caches per serving certificate and shares between connections. The context is reached from an authenticated
/// connection: its handle is a private field of <see cref="SslStream"/>. Where that field, Linux or
/// OpenSSL 3 is missing, nothing is changed and resumption keeps working with stateless tickets; a warning says so.
/// The server makes that first connection itself as it starts (<see cref="WarmUpAsync"/>), so the nodes that reconnect
/// at once after a server restart already get stateful tickets; a handshake that completed before the switch would
/// have got a stateless ticket, which the server no longer accepts, and cost its node one more full handshake.
/// A stateful ticket is an opaque id: nothing of the session leaves the server. The cost is the cache: OpenSSL keeps up
/// to 20,480 sessions (oldest evicted first) for two hours each, and a resumed session stays cached until it expires or
/// is evicted; see docs/node-channel.md for the measured memory per session.
/// </remarks>
internal sealed partial class StatefulSessionTickets(ILogger<StatefulSessionTickets> logger)
{
    private const ulong NoStatelessTickets = 1UL << 14; // SSL_OP_NO_TICKET
    private const string OpenSsl = "libssl.so.3";
    private const string NotSupportedReason = "it needs Linux, OpenSSL 3 and SslStream's native handle";

    private static readonly FieldInfo? SecurityContext =
        typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance);

    private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state; // 0 not tried yet, 1 applied to a context, -1 unavailable

    /// <summary>Whether a context was switched to stateful tickets.</summary>
    public bool Applied => Volatile.Read(ref _state) == 1;

    /// <summary>Whether this process can change the contexts: Linux, OpenSSL 3 and the runtime's field.</summary>
    public static bool Supported { get; } =
        OperatingSystem.IsLinux() && SecurityContext is not null && SafeEvpPKeyHandle.OpenSslVersion >> 28 == 3;

    /// <summary>
    /// Makes one TLS connection to the server's own <paramref name="listener"/> (which must serve
    /// <see cref="Middleware"/>), so the context is switched before the first node connects, and waits until it is
    /// (at most 5 s). A failure is logged; the first node's connection switches the context then.
    /// </summary>
    public async Task WarmUpAsync(IPEndPoint listener, X509Certificate2 serving, CancellationToken ct)
    {
        if (!Supported)
        {
            Unavailable(NotSupportedReason);
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var tcp = new TcpClient(listener.AddressFamily);
            await tcp.ConnectAsync(listener, timeout.Token);
            await using var tls = new SslStream(tcp.GetStream());
            var thumbprint = serving.GetCertHashString(HashAlgorithmName.SHA256);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "verge-warm-up.invalid",
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint,
            }, timeout.Token);
            await _settled.Task.WaitAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException
            || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            LogWarmUpFailed(logger, listener, e.Message);
        }
    }

    /// <summary>A Kestrel connection middleware, placed after <c>UseHttps</c>.</summary>
    public ConnectionDelegate Middleware(ConnectionDelegate next) => connection =>
    {
        if (connection.Features.Get<ISslStreamFeature>()?.SslStream is { } stream)
        {
            Apply(stream);
        }

        return next(connection);
    };

    /// <summary>
    /// Switches the SSL context behind an authenticated server stream to stateful tickets, unless it already is.
    /// Returns whether the context issues stateful tickets now.
    /// </summary>
    public bool Apply(SslStream stream)
    {
        if (Volatile.Read(ref _state) < 0)
        {
            return false;
        }

        if (!Supported)
        {
            Unavailable(NotSupportedReason);
            return false;
        }

        if (SecurityContext!.GetValue(stream) is not SafeHandle handle)
        {
            Unavailable("the stream has no native SSL handle");
            return false;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var context = SslGetContext(handle.DangerousGetHandle());
            if (context == 0)
            {
                return false;
            }

            // Setting the options is a plain store that connections being set up at the same moment read either
            // before or after; both are valid contexts.
            if ((SslContextGetOptions(context) & NoStatelessTickets) == 0)
            {
                SslContextSetOptions(context, NoStatelessTickets);
                _ = SslContextSetTicketCount(context, 1); // always 1 (success) in OpenSSL 3
                if (Interlocked.Exchange(ref _state, 1) == 0)
                {
                    LogApplied(logger);
                }
            }

            _settled.TrySetResult();
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Unavailable(e.Message);
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false; // the connection closed meanwhile; the next one applies it
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private void Unavailable(string reason)
    {
        if (Interlocked.Exchange(ref _state, -1) >= 0)
        {
            LogUnavailable(logger, reason);
        }

        _settled.TrySetResult();
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "TLS: session tickets are stateful (server-side session cache)")]
    private static partial void LogApplied(ILogger logger);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "TLS: session tickets stay stateless, so resumed node channel reconnects carry the node certificate: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "TLS: no warm-up connection to {Listener} ({Reason}); the first node's connection switches to stateful session tickets")]
    private static partial void LogWarmUpFailed(ILogger logger, IPEndPoint listener, string reason);

    // Blittable signatures: no marshalling code is generated (LibraryImport would need AllowUnsafeBlocks).
    [DllImport(OpenSsl, EntryPoint = "SSL_get_SSL_CTX")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern nint SslGetContext(nint ssl);

    [DllImport(OpenSsl, EntryPoint = "SSL_CTX_get_options")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern ulong SslContextGetOptions(nint context);

    [DllImport(OpenSsl, EntryPoint = "SSL_CTX_set_options")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern ulong SslContextSetOptions(nint context, ulong options);

    [DllImport(OpenSsl, EntryPoint = "SSL_CTX_set_num_tickets")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SslContextSetTicketCount(nint context, nuint count);
}
