using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Verge.Gateway.Tests.Support;

namespace Verge.Gateway.Tests.Auth;

public sealed class TlsAuthenticationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("verge-gw-tls-").FullName;
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _server;

    public TlsAuthenticationTests()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=verge-test-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        _ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        _server = Issue("localhost", serverAuth: true);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _server.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private X509Certificate2 Issue(string commonName, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(8);
        using var issued = request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), _ca.NotAfter.ToUniversalTime(), serial);
        return issued.CopyWithPrivateKey(key);
    }

    private async Task<GatewayHarness> Start(int tlsPort) =>
        await GatewayHarness.StartAsync(new FakeGatewayState().AddDevice("d1", "pw1"), o => o with
        {
            MqttTlsListen = $"127.0.0.1:{tlsPort}",
            TlsCertificatePem = _server.ExportCertificatePem(),
            TlsKeyPem = _server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(),
            ClientCaPem = _ca.ExportCertificatePem(),
        });

    private static async Task<string> ConnectWithCertificate(int port, X509Certificate2 certificate)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTlsOptions(tls => tls
                .UseTls()
                .WithClientCertificates([certificate])
                .WithCertificateValidationHandler(_ => true))
            .Build();
        try
        {
            return (await client.ConnectAsync(options)).ResultCode.ToString();
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException e)
        {
            // The client throws on a refused CONNACK; its message names the reason code.
            return e.Message;
        }
    }

    [Fact]
    public async Task ClientCertificate_WithDeviceNameAsCommonName_LogsTheDeviceIn()
    {
        var tlsPort = Tools.FreePort();
        await using var gw = await Start(tlsPort);
        using var device = Issue("d1", serverAuth: false);

        var result = await ConnectWithCertificate(tlsPort, device);

        Assert.Equal(nameof(MqttClientConnectResultCode.Success), result);
    }

    [Fact]
    public async Task ClientCertificate_ForUnknownDevice_IsRefusedNotAuthorized()
    {
        var tlsPort = Tools.FreePort();
        await using var gw = await Start(tlsPort);
        using var stranger = Issue("nobody", serverAuth: false);

        var result = await ConnectWithCertificate(tlsPort, stranger);

        Assert.Contains(nameof(MqttClientConnectResultCode.NotAuthorized), result, StringComparison.Ordinal);
        Assert.Equal(1, gw.Module.Counters.AuthRefused);
    }

    [Fact]
    public async Task TlsListener_WithPasswordAndNoCertificate_AcceptsMosquittoPub()
    {
        var tlsPort = Tools.FreePort();
        await using var gw = await Start(tlsPort);
        var caFile = Path.Combine(_directory, "ca.pem");
        await File.WriteAllTextAsync(caFile, _ca.ExportCertificatePem());

        var pub = await Tools.Run("mosquitto_pub", "mosquitto-clients", "-h", "localhost", "-p", tlsPort.ToString(), "--cafile", caFile, "-u", "d1", "-P", "pw1", "-t", "devices/d1/telemetry", "-m", "{}", "-q", "1");
        var wrong = await Tools.Run("mosquitto_pub", "mosquitto-clients", "-h", "localhost", "-p", tlsPort.ToString(), "--cafile", caFile, "-u", "d1", "-P", "nope", "-t", "devices/d1/telemetry", "-m", "{}");

        Assert.True(pub.Exit == 0, pub.Err);
        Assert.NotEqual(0, wrong.Exit);
    }
}
