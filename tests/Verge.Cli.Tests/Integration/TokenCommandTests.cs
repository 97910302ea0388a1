using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Verge.Cli.Commands;
using Verge.Core.Security;

namespace Verge.Cli.Tests.Integration;

/// <summary>verge token create, list and delete against a real API server.</summary>
public sealed partial class TokenCommandTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly CliHarness _cli = new();

    public void Dispose() => _cli.Dispose();

    private Task<CliResult> RunAsync(params string[] args) => _cli.RunAsync([.. args, "--kubeconfig", server.KubeconfigPath]);

    private X509Certificate2 Ca() => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(server.DataDir, "pki", "ca.crt")));

    [Fact]
    public async Task Create_PrintsOnlyTheTokenWithTheClusterCaPin_AndTheTokenJoins()
    {
        var result = await RunAsync("token", "create", "--description", "line 4");

        Assert.Equal((0, ""), (result.ExitCode, result.Error));
        var line = Assert.Single(result.OutLines);
        Assert.Matches(PinnedToken(), line);
        var token = JoinToken.Parse(line);
        using var ca = Ca();
        Assert.Equal(CaPin.Compute(ca), token.CaHash);
        Assert.Equal(HttpStatusCode.OK, await JoinAsync(token.BootstrapToken, ca));
    }

    [Fact]
    public async Task Create_WithUsageApi_PrintsABearerTokenTheApiAccepts_ButThatCannotJoin()
    {
        var result = await RunAsync("token", "create", "--usage", "api", "--groups", "system:masters");

        Assert.Equal((0, ""), (result.ExitCode, result.Error));
        var line = Assert.Single(result.OutLines);
        Assert.Matches("^[a-z0-9]{6}[.][a-z0-9]{16}$", line);
        using var ca = Ca();
        Assert.Equal(HttpStatusCode.OK, await GetWithBearerAsync(line, ca));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWithBearerAsync(line[..7] + "0000000000000000", ca));
        Assert.Equal(HttpStatusCode.Unauthorized, await JoinAsync(line, ca));
    }

    [Fact]
    public async Task Create_WithGroupsButJoinUsage_FailsWithClearError()
    {
        var result = await RunAsync("token", "create", "--groups", "verge:cloud");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--groups applies only to --usage api", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_ShowsIdTtlExpiryAndDescription_NotTheSecret()
    {
        var token = JoinToken.Parse((await RunAsync("token", "create", "--ttl", "2h", "--description", "press shop")).Out.Trim());
        var never = JoinToken.Parse((await RunAsync("token", "create", "--ttl", "0")).Out.Trim());

        var result = await RunAsync("token", "list");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^ID\s+TTL\s+EXPIRES\s+DESCRIPTION$", result.OutLines[0]);
        var row = Assert.Single(result.OutLines, l => l.StartsWith(token.Id, StringComparison.Ordinal));
        Assert.Matches($@"^{token.Id}\s+(1h|2h)\s+\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+press shop$", row);
        Assert.Matches($@"^{never.Id}\s+<forever>\s+<never>\s+<none>$", Assert.Single(result.OutLines, l => l.StartsWith(never.Id, StringComparison.Ordinal)));
        Assert.DoesNotContain(token.Secret, result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_RevokesTheToken_SoItCannotJoin()
    {
        var token = JoinToken.Parse((await RunAsync("token", "create")).Out.Trim());

        var deleted = await RunAsync("token", "delete", token.Id);
        var again = await RunAsync("token", "delete", token.Id);

        Assert.Equal((0, $"bootstrap token \"{token.Id}\" deleted\n"), (deleted.ExitCode, deleted.Out));
        Assert.Equal((1, $"error: bootstrap token \"{token.Id}\" not found\n"), (again.ExitCode, again.Error));
        using var ca = Ca();
        Assert.Equal(HttpStatusCode.Unauthorized, await JoinAsync(token.BootstrapToken, ca));
        Assert.DoesNotContain(token.Id, (await RunAsync("token", "list")).Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1h")]
    [InlineData("10")]
    [InlineData("")]
    public async Task Create_WithBadTtl_FailsWithClearError(string ttl)
    {
        var result = await RunAsync("token", "create", "--ttl", ttl);

        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        Assert.Contains("--ttl", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
    }

    [Theory]
    [InlineData("join", "99999999999h")]
    [InlineData("join", "9223372036854775807s")]
    [InlineData("api", "99999999999h")]
    [InlineData("api", "2562048h")]
    [InlineData("api", "100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000h")]
    public async Task Create_WithATtlTooLongForADuration_FailsWithOneLineNamingTheFlag(string usage, string ttl)
    {
        var result = await RunAsync("token", "create", "--usage", usage, "--ttl", ttl);

        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        Assert.Equal(
            $"error: invalid --ttl \"{ttl}\": longer than the longest duration, 2562047h (about 292 years); use 0 for a token that never expires",
            Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task Create_WithTheLongestTtl_MakesATokenThatExpiresThen()
    {
        var result = await RunAsync("token", "create", "--usage", "api", "--ttl", "2562047h");

        Assert.Equal((0, ""), (result.ExitCode, result.Error));
    }

    [Fact]
    public async Task Delete_WithMalformedId_FailsWithClearError()
    {
        var result = await RunAsync("token", "delete", "NOT-AN-ID");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: \"NOT-AN-ID\" is not a token ID (6 characters of [a-z0-9]) nor a token\n", result.Error);
    }

    [Theory]
    [InlineData("24h", 24 * 60)]
    [InlineData("1h30m", 90)]
    [InlineData("15m", 15)]
    public void ParseTtl_ReadsDurations(string text, int minutes)
    {
        Assert.Equal(TimeSpan.FromMinutes(minutes), TokenCommand.ParseTtl(text));
    }

    [Fact]
    public void FormatTtl_ShowsLargestUnitOrExpiry()
    {
        var now = DateTimeOffset.UnixEpoch;

        Assert.Equal("23h", TokenCommand.FormatTtl(now + TimeSpan.FromHours(23.9), now));
        Assert.Equal("2d", TokenCommand.FormatTtl(now + TimeSpan.FromDays(2.5), now));
        Assert.Equal("<expired>", TokenCommand.FormatTtl(now - TimeSpan.FromSeconds(1), now));
        Assert.Equal("<forever>", TokenCommand.FormatTtl(null, now));
    }

    private async Task<HttpStatusCode> GetWithBearerAsync(string token, X509Certificate2 ca)
    {
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return cert is X509Certificate2 c && chain.Build(c);
        };
        using var client = new HttpClient(handler);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using var response = await client.GetAsync(new Uri(server.Host.Address, "/api/v1/namespaces"));
        return response.StatusCode;
    }

    private async Task<HttpStatusCode> JoinAsync(string token, X509Certificate2 ca)
    {
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return cert is X509Certificate2 c && chain.Build(c);
        };
        using var client = new HttpClient(handler);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var body = new JsonObject
        {
            ["token"] = token,
            ["nodeName"] = "cli-node",
            ["csr"] = new CertificateRequest("CN=cli-node", key, HashAlgorithmName.SHA256).CreateSigningRequestPem(),
        };
        using var response = await client.PostAsync(new Uri(server.Host.Address, "/verge/v1/join"), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return response.StatusCode;
    }

    [GeneratedRegex("^K10[0-9a-f]{64}::[a-z0-9]{6}\\.[a-z0-9]{16}$")]
    private static partial Regex PinnedToken();
}
