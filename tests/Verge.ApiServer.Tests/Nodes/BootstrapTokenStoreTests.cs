using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Registry;
using Verge.Core.Security;

namespace Verge.ApiServer.Tests.Nodes;

/// <summary>Bootstrap tokens kept as Secrets in kube-system that hold only the hash of the token secret.</summary>
public sealed class BootstrapTokenStoreTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private BootstrapTokenStore Store() => new(server.Host.Services.GetRequiredService<ResourceService>(), _time);

    [Fact]
    public async Task Create_StoresOnlyTheSecretHashWithExpiryDescriptionAndUsage()
    {
        var token = await Store().CreateAsync(TimeSpan.FromHours(24), "edge rollout", null, CancellationToken.None);

        using var client = server.AdminClient();
        var secret = await (await client.GetAsync($"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{token.Id}")).ReadObjectAsync();
        var data = secret["data"]!.AsObject().ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(Convert.FromBase64String(p.Value!.GetValue<string>())));
        Assert.Equal("bootstrap.kubernetes.io/token", secret["type"]!.GetValue<string>());
        Assert.Equal(token.Id, data["token-id"]);
        Assert.Equal(JoinToken.HashSecret(token.Secret), data["token-secret-sha256"]);
        Assert.Equal("2026-03-02T12:00:00Z", data["expiration"]);
        Assert.Equal("edge rollout", data["description"]);
        Assert.Equal("true", data["usage-verge.dev-join"]);
        Assert.DoesNotContain(data.Values, v => v.Contains(token.Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(token.Secret, secret.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_WithTheTokenCreated_Accepts()
    {
        var store = Store();
        var token = await store.CreateAsync(TimeSpan.FromHours(1), null, null, CancellationToken.None);

        Assert.Equal(TokenRejection.None, await store.ValidateAsync(token.BootstrapToken, CancellationToken.None));
    }

    [Fact]
    public async Task Validate_WithWrongSecret_Refuses()
    {
        var store = Store();
        var token = await store.CreateAsync(TimeSpan.FromHours(1), null, null, CancellationToken.None);
        var wrong = token.Id + "." + new string('0', 16);

        Assert.Equal(TokenRejection.WrongSecret, await store.ValidateAsync(wrong, CancellationToken.None));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc.def")]
    [InlineData("abcdef:0123456789abcdef")]
    [InlineData("ABCDEF.0123456789ABCDEF")]
    public async Task Validate_WithMalformedToken_Refuses(string? token)
    {
        Assert.Equal(TokenRejection.Malformed, await Store().ValidateAsync(token, CancellationToken.None));
    }

    [Fact]
    public async Task Validate_WithUnknownId_Refuses()
    {
        Assert.Equal(TokenRejection.Unknown, await Store().ValidateAsync(JoinToken.Generate().BootstrapToken, CancellationToken.None));
    }

    [Fact]
    public async Task Validate_AfterExpiry_RefusesAndDeletesTheToken()
    {
        var store = Store();
        var token = await store.CreateAsync(TimeSpan.FromMinutes(10), null, null, CancellationToken.None);
        _time.Now += TimeSpan.FromMinutes(10);

        var rejection = await store.ValidateAsync(token.BootstrapToken, CancellationToken.None);

        Assert.Equal(TokenRejection.Expired, rejection);
        Assert.DoesNotContain(await store.ListAsync(CancellationToken.None), t => t.Id == token.Id);
    }

    [Fact]
    public async Task Validate_WithoutTtl_NeverExpires()
    {
        var store = Store();
        var token = await store.CreateAsync(null, null, null, CancellationToken.None);
        _time.Now += TimeSpan.FromDays(3650);

        Assert.Equal(TokenRejection.None, await store.ValidateAsync(token.BootstrapToken, CancellationToken.None));
    }

    [Fact]
    public async Task Delete_RevokesTheToken()
    {
        var store = Store();
        var token = await store.CreateAsync(TimeSpan.FromHours(1), null, null, CancellationToken.None);

        Assert.True(await store.DeleteAsync(token.Id, CancellationToken.None));
        Assert.False(await store.DeleteAsync(token.Id, CancellationToken.None));
        Assert.Equal(TokenRejection.Unknown, await store.ValidateAsync(token.BootstrapToken, CancellationToken.None));
    }

    [Fact]
    public async Task List_ShowsIdExpiryAndDescriptionButNoSecret()
    {
        var store = Store();
        var token = await store.CreateAsync(TimeSpan.FromHours(2), "line 3", null, CancellationToken.None);

        var listed = Assert.Single(await store.ListAsync(CancellationToken.None), t => t.Id == token.Id);

        Assert.Equal(_time.Now + TimeSpan.FromHours(2), listed.Expires);
        Assert.Equal("line 3", listed.Description);
        Assert.True(listed.ForJoin);
    }

    [Fact]
    public async Task Create_WithNonPositiveTtl_Throws()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store().CreateAsync(TimeSpan.Zero, null, null, CancellationToken.None));
    }

    [Fact]
    public async Task Secret_IsNotReadableAnonymously()
    {
        var token = await Store().CreateAsync(TimeSpan.FromHours(1), null, null, CancellationToken.None);
        using var anonymous = server.AnonymousClient();

        using var response = await anonymous.GetAsync($"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{token.Id}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}
