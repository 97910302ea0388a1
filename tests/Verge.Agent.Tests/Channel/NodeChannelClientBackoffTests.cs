using CsCheck;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Channel;
using Verge.Agent.Identity;

namespace Verge.Agent.Tests.Channel;

public sealed class NodeChannelClientBackoffTests
{
    [Fact]
    public void Backoff_IsFullJitter_BelowTheExponentialBoundCappedAtTheMaximum()
    {
        var client = Client(new NodeChannelClientOptions
        {
            Servers = [new Uri("https://127.0.0.1:6443")],
            InitialBackoff = TimeSpan.FromMilliseconds(500),
            MaxBackoff = TimeSpan.FromSeconds(30),
        });

        Gen.Int[0, 100].Sample(attempt =>
        {
            var bound = Math.Min(30_000, 500 * Math.Pow(2, Math.Min(attempt, 30)));
            var delay = client.Backoff(attempt).TotalMilliseconds;
            return delay >= 0 && delay <= bound;
        });
    }

    [Theory]
    [InlineData("http://127.0.0.1:6443")]
    [InlineData("/relative")]
    public void Options_WithAServerThatIsNotHttps_AreRefused(string server)
    {
        var error = Assert.Throws<ArgumentException>(() => Client(new NodeChannelClientOptions { Servers = [new Uri(server, UriKind.RelativeOrAbsolute)] }));

        Assert.Contains("https", error.Message);
    }

    [Fact]
    public void Options_WithoutServers_AreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Client(new NodeChannelClientOptions()));

        Assert.Contains("--server", error.Message);
    }

    private static NodeChannelClient Client(NodeChannelClientOptions options)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=system:node:n1", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        return new NodeChannelClient(options, new NodeIdentity("n1", cert, cert), new InMemoryDesiredState(),
            () => ChannelHarness.NodeReport("n1"), new FakeLogSource(), NullLoggerFactory.Instance, TimeProvider.System);
    }
}
