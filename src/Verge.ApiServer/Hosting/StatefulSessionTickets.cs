using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
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
/// caches per serving certificate and shares between connections. The context is reached from the first
/// authenticated connection: its handle is a private field of <see cref="SslStream"/>. Where that field, Linux or
/// OpenSSL 3 is missing, nothing is changed and resumption keeps working with stateless tickets; a warning says so.
/// The handshakes that completed before the first connection reached this middleware (after a server restart, possibly
/// many nodes reconnecting at once) got stateless tickets, which the server no longer accepts: their next reconnect is
/// one full handshake.
/// A stateful ticket is an opaque id: nothing of the session leaves the server. The cost is the cache: OpenSSL keeps up
/// to 20,480 sessions (oldest evicted first) for two hours each, and a resumed session stays cached until it expires or
/// is evicted; see docs/node-channel.md for the measured memory per session.
/// </remarks>
internal sealed partial class StatefulSessionTickets(ILogger<StatefulSessionTickets> logger)
{
    private const ulong NoStatelessTickets = 1UL << 14; // SSL_OP_NO_TICKET
    private const string OpenSsl = "libssl.so.3";

    private static readonly FieldInfo? SecurityContext =
        typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance);

    private int _state; // 0 not tried yet, 1 applied to a context, -1 unavailable

    /// <summary>Whether this process can change the contexts: Linux, OpenSSL 3 and the runtime's field.</summary>
    public static bool Supported { get; } =
        OperatingSystem.IsLinux() && SecurityContext is not null && SafeEvpPKeyHandle.OpenSslVersion >> 28 == 3;

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
            Unavailable("it needs Linux, OpenSSL 3 and SslStream's native handle");
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
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "TLS: session tickets are stateful (server-side session cache)")]
    private static partial void LogApplied(ILogger logger);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "TLS: session tickets stay stateless, so resumed node channel reconnects carry the node certificate: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string reason);

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
