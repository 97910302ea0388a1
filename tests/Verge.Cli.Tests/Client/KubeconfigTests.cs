using System.Text;
using Verge.Cli.Client;

namespace Verge.Cli.Tests.Client;

public sealed class KubeconfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-kubeconfig-").FullName;

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static readonly string TwoContexts = $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: edge
          cluster:
            server: https://10.0.0.1:6443
            certificate-authority-data: {B64("CA-PEM")}
        - name: lab
          cluster:
            server: https://lab.example:443
            insecure-skip-tls-verify: true
        users:
        - name: admin
          user:
            client-certificate-data: {B64("CERT")}
            client-key-data: {B64("KEY")}
        - name: robot
          user:
            token: s3cret
        contexts:
        - name: edge
          context:
            cluster: edge
            user: admin
            namespace: factory
        - name: lab
          context:
            cluster: lab
            user: robot
        current-context: edge
        """;

    [Fact]
    public void Resolve_WhenNoContextNamed_UsesCurrentContextWithDataFields()
    {
        var connection = Kubeconfig.Parse(TwoContexts, _dir).Resolve(null);

        Assert.Equal(new Uri("https://10.0.0.1:6443"), connection.Server);
        Assert.Equal("CA-PEM", Encoding.UTF8.GetString(connection.CertificateAuthorityPem!));
        Assert.Equal("CERT", Encoding.UTF8.GetString(connection.ClientCertificatePem!));
        Assert.Equal("KEY", Encoding.UTF8.GetString(connection.ClientKeyPem!));
        Assert.Null(connection.Token);
        Assert.Equal("factory", connection.Namespace);
        Assert.False(connection.InsecureSkipTlsVerify);
    }

    [Fact]
    public void Resolve_WhenContextNamed_UsesTokenUserAndDefaultNamespace()
    {
        var connection = Kubeconfig.Parse(TwoContexts, _dir).Resolve("lab");

        Assert.Equal(new Uri("https://lab.example:443"), connection.Server);
        Assert.Equal("s3cret", connection.Token);
        Assert.Null(connection.ClientCertificatePem);
        Assert.True(connection.InsecureSkipTlsVerify);
        Assert.Equal("default", connection.Namespace);
    }

    [Fact]
    public void Resolve_WhenFileForms_ReadsFilesRelativeToTheKubeconfig()
    {
        File.WriteAllText(Path.Combine(_dir, "ca.crt"), "CA-FILE");
        File.WriteAllText(Path.Combine(_dir, "client.crt"), "CERT-FILE");
        File.WriteAllText(Path.Combine(_dir, "client.key"), "KEY-FILE");
        File.WriteAllText(Path.Combine(_dir, "token"), "tok-from-file\n");
        var yaml = """
            clusters:
            - name: c
              cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt}
            users:
            - name: u
              user: {client-certificate: client.crt, client-key: client.key}
            - name: t
              user: {tokenFile: token}
            contexts:
            - name: x
              context: {cluster: c, user: u}
            - name: y
              context: {cluster: c, user: t}
            current-context: x
            """;
        var path = Path.Combine(_dir, "config");
        File.WriteAllText(path, yaml);

        var config = Kubeconfig.Load([path]);
        var cert = config.Resolve(null);
        var token = config.Resolve("y");

        Assert.Equal("CA-FILE", Encoding.UTF8.GetString(cert.CertificateAuthorityPem!));
        Assert.Equal("CERT-FILE", Encoding.UTF8.GetString(cert.ClientCertificatePem!));
        Assert.Equal("KEY-FILE", Encoding.UTF8.GetString(cert.ClientKeyPem!));
        Assert.Equal("tok-from-file", token.Token);
    }

    [Fact]
    public void Load_WhenSeveralFiles_FirstDefinitionAndCurrentContextWin()
    {
        var first = Path.Combine(_dir, "first");
        var second = Path.Combine(_dir, "second");
        File.WriteAllText(first, """
            clusters:
            - name: c
              cluster: {server: "https://first:1"}
            """);
        File.WriteAllText(second, """
            clusters:
            - name: c
              cluster: {server: "https://second:2"}
            users:
            - name: u
              user: {token: t}
            contexts:
            - name: ctx
              context: {cluster: c, user: u}
            current-context: ctx
            """);

        var connection = Kubeconfig.Load([first, second]).Resolve(null);

        Assert.Equal(new Uri("https://first:1"), connection.Server);
        Assert.Equal("t", connection.Token);
    }

    [Fact]
    public void Resolve_WhenContextUnknown_ThrowsClearError()
    {
        var e = Assert.Throws<CliException>(() => Kubeconfig.Parse(TwoContexts, _dir).Resolve("nope"));
        Assert.Equal("error: unable to read kubeconfig: context \"nope\" does not exist", e.Message);
    }

    [Fact]
    public void Resolve_WhenContextNamesMissingCluster_ThrowsClearError()
    {
        var yaml = """
            contexts:
            - name: x
              context: {cluster: gone, user: u}
            current-context: x
            """;
        var e = Assert.Throws<CliException>(() => Kubeconfig.Parse(yaml, _dir).Resolve(null));
        Assert.Contains("cluster \"gone\", which does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenYamlMalformed_ThrowsUnableToRead()
    {
        var e = Assert.Throws<CliException>(() => Kubeconfig.Parse("clusters: [\n  - {", _dir, "bad.kubeconfig"));
        Assert.StartsWith("error: unable to read kubeconfig bad.kubeconfig: yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_WhenNoCurrentContext_AsksForContextFlag()
    {
        var e = Assert.Throws<CliException>(() => Kubeconfig.Parse("clusters: []", _dir).Resolve(null));
        Assert.Contains("no current-context", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
