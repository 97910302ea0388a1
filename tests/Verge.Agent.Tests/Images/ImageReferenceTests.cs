using Verge.Agent.Images;

namespace Verge.Agent.Tests.Images;

public sealed class ImageReferenceTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest", "registry-1.docker.io")]
    [InlineData("busybox:1.36", "docker.io/library/busybox:1.36", "registry-1.docker.io")]
    [InlineData("library/busybox", "docker.io/library/busybox:latest", "registry-1.docker.io")]
    [InlineData("docker.io/busybox", "docker.io/library/busybox:latest", "registry-1.docker.io")]
    [InlineData("index.docker.io/acme/app:v2", "docker.io/acme/app:v2", "registry-1.docker.io")]
    [InlineData("acme/app", "docker.io/acme/app:latest", "registry-1.docker.io")]
    [InlineData("ghcr.io/acme/app:v1", "ghcr.io/acme/app:v1", "ghcr.io")]
    [InlineData("localhost/app", "localhost/app:latest", "localhost")]
    [InlineData("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000")]
    [InlineData("registry:5000/app", "registry:5000/app:latest", "registry:5000")]
    [InlineData("busybox@" + Digest, "docker.io/library/busybox@" + Digest, "registry-1.docker.io")]
    [InlineData("ghcr.io/acme/app:v1@" + Digest, "ghcr.io/acme/app:v1@" + Digest, "ghcr.io")]
    public void Parse_NormalisesLikeDocker(string input, string normalised, string endpoint)
    {
        var parsed = ImageReference.Parse(input);

        Assert.Equal(normalised, parsed.ToString());
        Assert.Equal(endpoint, parsed.Endpoint);
    }

    [Fact]
    public void Parse_ByDigest_AsksTheRegistryForTheDigest()
    {
        var parsed = ImageReference.Parse("ghcr.io/acme/app:v1@" + Digest);

        Assert.Equal(Digest, parsed.ManifestReference);
        Assert.Equal("acme/app", parsed.Repository);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("Busybox")]
    [InlineData("busybox:")]
    [InlineData("busybox:bad tag")]
    [InlineData("busybox@sha256:1234")]
    [InlineData("busybox@md5:0123456789abcdef0123456789abcdef")]
    [InlineData("a//b")]
    [InlineData("/busybox")]
    [InlineData("busybox/")]
    [InlineData("-leading/dash")]
    [InlineData("ghcr.io/")]
    public void Parse_WhenInvalid_ThrowsInvalidImageName(string input)
    {
        var error = Assert.Throws<ImagePullException>(() => ImageReference.Parse(input));

        Assert.Equal("InvalidImageName", error.Reason);
        Assert.Contains("invalid image reference", error.Message);
    }

    [Fact]
    public void ParseChallenge_ReadsQuotedParameters()
    {
        var parameters = RegistryClient.ParseChallenge(
            "realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"");

        Assert.Equal("https://auth.example/token", parameters["realm"]);
        Assert.Equal("registry.example", parameters["service"]);
        Assert.Equal("repository:a/b:pull,push", parameters["scope"]);
    }

    [Theory]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("localhost:5000", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("ghcr.io", false)]
    [InlineData("edge.local:5000", true)]
    public void IsInsecure_LoopbackAndListedRegistriesUsePlainHttp(string registry, bool insecure)
    {
        var options = new ImageStoreOptions { Root = "/tmp/x", InsecureRegistries = ["edge.local:5000"] };

        Assert.Equal(insecure, options.IsInsecure(registry));
    }
}
