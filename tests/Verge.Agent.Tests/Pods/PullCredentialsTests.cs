using System.Text;
using Verge.Agent.Images;
using Verge.Agent.Pods;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class PullCredentialsTests
{
    private sealed class Source(Secret secret) : IPodConfigSource
    {
        public ConfigMap? GetConfigMap(string configMapNamespace, string name) => null;

        public Secret? GetSecret(string secretNamespace, string name) => name == "regcred" ? secret : null;
    }

    private static Pod PodWithPullSecret() => new()
    {
        Metadata = new() { Name = "p", Namespace = "default" },
        Spec = new PodSpec { ImagePullSecrets = [new LocalObjectReference { Name = "missing" }, new LocalObjectReference { Name = "regcred" }] },
    };

    [Theory]
    [InlineData("busybox", "docker.io")]
    [InlineData("library/busybox:1", "docker.io")]
    [InlineData("127.0.0.1:5000/app:1", "127.0.0.1:5000")]
    [InlineData("ghcr.io/verge/agent@sha256:abc", "ghcr.io")]
    [InlineData("localhost/app", "localhost")]
    public void RegistryOf_FindsTheRegistryHost(string image, string registry) =>
        Assert.Equal(registry, PullCredentials.RegistryOf(image));

    [Fact]
    public void For_ReadsUsernameAndPassword_OrAuth_FromDockerConfigJson()
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("hub-user:hub:pass"));
        var config = """{"auths":{"127.0.0.1:5000":{"username":"u","password":"p"},"https://index.docker.io/v1/":{"auth":"AUTH"}}}""".Replace("AUTH", auth, StringComparison.Ordinal);
        var source = new Source(new Secret { Type = "kubernetes.io/dockerconfigjson", Data = new() { [".dockerconfigjson"] = Encoding.UTF8.GetBytes(config) } });

        Assert.Equal(new RegistryCredentials("u", "p"), PullCredentials.For(PodWithPullSecret(), "127.0.0.1:5000/app:1", source));
        Assert.Equal(new RegistryCredentials("hub-user", "hub:pass"), PullCredentials.For(PodWithPullSecret(), "busybox:1.36", source));
        Assert.Null(PullCredentials.For(PodWithPullSecret(), "quay.io/x/y:1", source));
    }

    [Fact]
    public void For_MalformedSecret_GivesNoCredentials()
    {
        var source = new Source(new Secret { Data = new() { [".dockerconfigjson"] = "not json"u8.ToArray() } });

        Assert.Null(PullCredentials.For(PodWithPullSecret(), "busybox", source));
    }
}
