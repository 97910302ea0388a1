using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Verge.Cli.Client;
using Verge.Cli.Simulation;
using Verge.Core.Core;
using Verge.Core.Security;
using Verge.Core.Serialization;

namespace Verge.Cli.Commands;

/// <summary>
/// <c>verge token create|list|delete</c>: bootstrap tokens that let agents join, and with <c>--usage api</c> API
/// tokens (bearer tokens for the API and passwords at the cloud MQTT endpoint, in the groups given by --groups). A token is stored as a Secret in
/// kube-system that holds only the hash of its secret; <c>create</c> prints it once, with the CA pin of the
/// kubeconfig's cluster, as <c>K10&lt;hash&gt;::ID.SECRET</c>.
/// </summary>
internal static class TokenCommand
{
    private static readonly string[] ListHeaders = ["ID", "TTL", "EXPIRES", "DESCRIPTION"];

    private const string SecretsPath = "/api/v1/namespaces/" + BootstrapTokenSecret.Namespace + "/secrets";

    public static Command Create(CliContext context)
    {
        var command = new Command("token", "Manage the bootstrap tokens agents join with");
        command.Subcommands.Add(CreateVerb(context));
        command.Subcommands.Add(ListVerb(context));
        command.Subcommands.Add(DeleteVerb(context));
        return command;
    }

    private static Command CreateVerb(CliContext context)
    {
        var ttl = new Option<string>("--ttl") { Description = "How long the token is valid (24h, 90m, 1h30m; 0 never expires)", DefaultValueFactory = _ => "24h" };
        var description = new Option<string?>("--description") { Description = "What the token is for, shown by 'verge token list'" };
        var usage = new Option<string>("--usage")
        {
            Description = "join: agents join with it; api: an API bearer token (Authorization: Bearer ID.SECRET) and the password at the cloud MQTT endpoint",
            DefaultValueFactory = _ => "join",
        };
        usage.AcceptOnlyFromAmong("join", "api");
        var groups = new Option<string[]>("--groups")
        {
            Description = "With --usage api: the groups the token authenticates with (default verge:cloud; system:masters makes it an admin)",
            AllowMultipleArgumentsPerToken = true,
        };
        var options = new ClientOptions();
        var command = new Command("create", "Create a join token (or with --usage api an API token) and print it (the only time its secret is shown)");
        command.Options.Add(ttl);
        command.Options.Add(description);
        command.Options.Add(usage);
        command.Options.Add(groups);
        options.AddTo(command, withNamespace: false);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, async () =>
        {
            var lifetime = ParseTtl(parse.GetValue(ttl));
            var forApi = parse.GetValue(usage) == "api";
            var tokenGroups = (parse.GetValue(groups) ?? []).SelectMany(g => g.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            if (!forApi && tokenGroups.Count > 0)
            {
                throw new CliException("error: --groups applies only to --usage api");
            }

            if (forApi && tokenGroups.Count == 0)
            {
                tokenGroups.Add("verge:cloud");
            }

            using var session = options.Open(context, parse);
            var pin = forApi ? null : Pin(session.Client.Connection);
            if (pin is null && !forApi)
            {
                Output.Terminal.WriteError(context,
                    "warning: the kubeconfig names no CA certificate, so the token carries no CA hash: agents must be given --ca-cert-hash");
            }

            var token = await CreateTokenAsync(
                session.Client, pin, lifetime, parse.GetValue(description), context.Time, ct, forApi ? tokenGroups : null);
            await context.Out.WriteLineAsync(token.ToString());
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Creates and stores a join token (carrying <paramref name="pin"/>) through the API; with
    /// <paramref name="apiGroups"/>, an API token for those groups instead.
    /// </summary>
    internal static async Task<JoinToken> CreateTokenAsync(
        KubeClient client, string? pin, TimeSpan? lifetime, string? description, TimeProvider time, CancellationToken ct,
        IReadOnlyList<string>? apiGroups = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = JoinToken.Generate(pin);
            var expires = lifetime is { } l ? time.GetUtcNow() + l : (DateTimeOffset?)null;
            var secret = apiGroups is null
                ? BootstrapTokenSecret.Create(token, expires, description)
                : BootstrapTokenSecret.CreateForApi(token, expires, description, apiGroups);
            var json = JsonSerializer.Serialize(secret, VergeJsonContext.Default.Secret);
            try
            {
                await client.SendAsync(HttpMethod.Post, SecretsPath, json, "application/json", "application/json", ct);
            }
            catch (ApiStatusException e) when (e.Code == 409 && attempt < 3)
            {
                // Another token has this ID: draw again.
                continue;
            }

            return token;
        }
    }

    private static Command ListVerb(CliContext context)
    {
        var options = new ClientOptions();
        var command = new Command("list", "List the bootstrap tokens (IDs, expiry and descriptions; never secrets)");
        options.AddTo(command, withNamespace: false);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, async () =>
        {
            using var session = options.Open(context, parse);
            var list = await session.Client.GetAsync(SecretsPath, ct);
            var tokens = new List<BootstrapTokenInfo>();
            foreach (var item in list["items"]?.AsArray() ?? [])
            {
                if (item?["metadata"]?["name"]?.GetValue<string>() is { } name && name.StartsWith(BootstrapTokenSecret.NamePrefix, StringComparison.Ordinal)
                    && item.Deserialize(VergeJsonContext.Default.Secret) is { } secret && BootstrapTokenSecret.TryRead(secret, out var info))
                {
                    tokens.Add(info);
                }
            }

            if (tokens.Count == 0)
            {
                Output.Terminal.WriteError(context, "No bootstrap tokens found.");
                return 0;
            }

            var now = context.Time.GetUtcNow();
            var rows = new List<string[]> { ListHeaders };
            rows.AddRange(tokens.OrderBy(t => t.Id, StringComparer.Ordinal).Select(t => new[]
            {
                t.Id,
                FormatTtl(t.Expires, now),
                t.Expires?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "<never>",
                t.Description ?? "<none>",
            }));
            var widths = Enumerable.Range(0, 4).Select(i => rows.Max(r => r[i].Length)).ToArray();
            foreach (var row in rows)
            {
                var line = new StringBuilder();
                for (var i = 0; i < row.Length; i++)
                {
                    line.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 3));
                }

                await context.Out.WriteLineAsync(line.ToString().TrimEnd());
            }

            return 0;
        }));
        return command;
    }

    private static Command DeleteVerb(CliContext context)
    {
        var ids = new Argument<string[]>("ID") { Description = "The IDs of the tokens to revoke (or the tokens themselves)", Arity = ArgumentArity.OneOrMore };
        var options = new ClientOptions();
        var command = new Command("delete", "Revoke bootstrap tokens: agents can no longer join with them (joined agents keep working)");
        command.Arguments.Add(ids);
        options.AddTo(command, withNamespace: false);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, async () =>
        {
            var wanted = (parse.GetValue(ids) ?? []).Select(IdOf).ToList();
            using var session = options.Open(context, parse);
            var failed = false;
            foreach (var id in wanted)
            {
                try
                {
                    await session.Client.SendAsync(HttpMethod.Delete, $"{SecretsPath}/{BootstrapTokenSecret.NameOf(id)}", null, null, "application/json", ct);
                    await context.Out.WriteLineAsync($"bootstrap token \"{id}\" deleted");
                }
                catch (ApiStatusException e) when (e.IsNotFound)
                {
                    Output.Terminal.WriteError(context, $"error: bootstrap token \"{id}\" not found");
                    failed = true;
                }
            }

            return failed ? 1 : 0;
        }));
        return command;
    }

    /// <summary>The TTL flag: a duration such as 24h or 1h30m, or 0 for a token that never expires.</summary>
    internal static TimeSpan? ParseTtl(string? text)
    {
        if (text?.Trim() is "0" or "0s")
        {
            return null;
        }

        if (!DurationText.TryParse(text?.Trim(), out var ttl, out var tooLong) || ttl < TimeSpan.FromSeconds(1))
        {
            throw new CliException(tooLong
                ? $"error: invalid --ttl \"{text}\": longer than the longest duration, 2562047h (about 292 years); use 0 for a token that never expires"
                : $"error: invalid --ttl \"{text}\": use a duration such as 24h, 90m or 1h30m (at least 1s), or 0 for a token that never expires");
        }

        return ttl;
    }

    internal static string FormatTtl(DateTimeOffset? expires, DateTimeOffset now)
    {
        if (expires is not { } e)
        {
            return "<forever>";
        }

        var left = e - now;
        return left <= TimeSpan.Zero ? "<expired>"
            : left >= TimeSpan.FromDays(1) ? $"{(int)left.TotalDays}d"
            : left >= TimeSpan.FromHours(1) ? $"{(int)left.TotalHours}h"
            : left >= TimeSpan.FromMinutes(1) ? $"{(int)left.TotalMinutes}m"
            : $"{(int)Math.Ceiling(left.TotalSeconds)}s";
    }

    private static string IdOf(string word)
    {
        if (JoinToken.TryParse(word, out var token, out _))
        {
            return token.Id;
        }

        if (word.Length != JoinToken.IdLength || !word.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9')))
        {
            throw new CliException($"error: \"{word}\" is not a token ID (6 characters of [a-z0-9]) nor a token");
        }

        return word;
    }

    internal static string? Pin(ClusterConnection connection)
    {
        if (connection.CertificateAuthorityPem is not { Length: > 0 } pem)
        {
            return null;
        }

        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(Encoding.UTF8.GetString(pem));
        try
        {
            // The cluster CA is the self-signed certificate of the bundle (a bundle with intermediates ends in it).
            var ca = bundle.FirstOrDefault(c => c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData)) ?? bundle.FirstOrDefault();
            return ca is null ? null : CaPin.Compute(ca);
        }
        finally
        {
            foreach (var c in bundle)
            {
                c.Dispose();
            }
        }
    }
}
