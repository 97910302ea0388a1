using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Verge.ApiServer.Security;

/// <summary>
/// The cluster's certificate authority. On first start it creates an ECDSA P-256 CA and keeps it under
/// <c>DATA_DIR/pki</c> (<c>ca.crt</c>, <c>ca.key</c>, mode 0600 for keys); it signs the server's serving certificate
/// and client certificates (the admin's now, nodes' later). Identities follow Kubernetes: the subject CN is the user
/// name and each O is a group.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private readonly X509Certificate2 _ca;
    private readonly ECDsa _caKey;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _verified = new(StringComparer.Ordinal);

    private CertificateAuthority(X509Certificate2 ca, ECDsa caKey, TimeProvider time)
    {
        _ca = ca;
        _caKey = caKey;
        _time = time;
    }

    /// <summary>How long a certificate that chained to the CA is trusted without building its chain again (at most until it expires).</summary>
    internal static readonly TimeSpan VerdictLifetime = TimeSpan.FromMinutes(1);

    /// <summary>Verified certificates remembered at most; the memory is cleared when full.</summary>
    internal const int VerdictCacheSize = 16_384;

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 Certificate => _ca;

    /// <summary>The CA certificate in PEM.</summary>
    public string CertificatePem => _ca.ExportCertificatePem();

    /// <summary>Loads the CA from <paramref name="pkiDir"/>, creating it when absent.</summary>
    public static CertificateAuthority LoadOrCreate(string pkiDir, TimeProvider time)
    {
        Directory.CreateDirectory(pkiDir);
        var certPath = Path.Combine(pkiDir, "ca.crt");
        var keyPath = Path.Combine(pkiDir, "ca.key");
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            var cert = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
            var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(keyPath));
            return new CertificateAuthority(cert, key, time);
        }

        var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=verge-ca", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = time.GetUtcNow();
        using var selfSigned = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        WriteSecret(keyPath, caKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, selfSigned.ExportCertificatePem());
        return new CertificateAuthority(X509Certificate2.CreateFromPem(selfSigned.ExportCertificatePem()), caKey, time);
    }

    /// <summary>
    /// Loads the serving certificate from <paramref name="pkiDir"/>, or issues one for the given names and addresses
    /// when it is absent, expires within 30 days, or does not cover them.
    /// </summary>
    public X509Certificate2 LoadOrIssueServing(string pkiDir, IReadOnlyCollection<string> dnsNames, IReadOnlyCollection<IPAddress> addresses)
    {
        var certPath = Path.Combine(pkiDir, "server.crt");
        var keyPath = Path.Combine(pkiDir, "server.key");
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            var existing = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            if (existing.NotAfter.ToUniversalTime() > _time.GetUtcNow().UtcDateTime.AddDays(30)
                && Covers(existing, dnsNames, addresses))
            {
                return existing;
            }

            existing.Dispose();
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=verge-apiserver", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = Sign(request, TimeSpan.FromDays(365));
        WriteSecret(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        return X509Certificate2.CreateFromPemFile(certPath, keyPath);
    }

    /// <summary>Issues a client certificate for a user (CN) in groups (O), returning certificate and key in PEM.</summary>
    public (string CertificatePem, string KeyPem) IssueClient(string user, IEnumerable<string> groups, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        foreach (var group in groups)
        {
            subject.AddOrganizationName(group);
        }

        subject.AddCommonName(user);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = Sign(request, lifetime);
        return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// Reads a PEM PKCS#10 certificate signing request, checks its signature and that its key is RSA of at least 2048
    /// bits (at most 8192) or ECDSA on P-256 or P-384, and returns its public key. Throws <see cref="FormatException"/> saying what
    /// is wrong otherwise. Nothing else of the request (subject, extensions) is used: the CA decides those.
    /// </summary>
    public static PublicKey ReadClientCsr(string csrPem)
    {
        ArgumentNullException.ThrowIfNull(csrPem);
        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (CryptographicException e)
        {
            throw new FormatException($"the certificate signing request is not a valid PEM PKCS#10 request with a valid signature: {e.Message}", e);
        }

        var key = request.PublicKey;
        switch (key.Oid.Value)
        {
            case "1.2.840.113549.1.1.1":
                using (var rsa = key.GetRSAPublicKey())
                {
                    if (rsa is null || rsa.KeySize is < 2048 or > 8192)
                    {
                        throw new FormatException($"the certificate signing request's RSA key has {rsa?.KeySize} bits; 2048 to 8192 are accepted");
                    }
                }

                break;
            case "1.2.840.10045.2.1":
                using (var ec = key.GetECDsaPublicKey())
                {
                    var curve = ec?.ExportParameters(false).Curve.Oid.Value;
                    if (curve is not ("1.2.840.10045.3.1.7" or "1.3.132.0.34"))
                    {
                        throw new FormatException("the certificate signing request's EC key must be on curve P-256 or P-384");
                    }
                }

                break;
            default:
                throw new FormatException($"the certificate signing request's key type ({key.Oid.FriendlyName ?? key.Oid.Value}) is not supported: use RSA (2048 bits or more) or ECDSA P-256/P-384");
        }

        return key;
    }

    /// <summary>
    /// Issues a client certificate for a key the caller holds (from <see cref="ReadClientCsr"/>): subject CN
    /// <paramref name="user"/> and an O per group, client-auth usage only.
    /// </summary>
    public X509Certificate2 IssueClientFor(PublicKey publicKey, string user, IEnumerable<string> groups, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        var subject = new X500DistinguishedNameBuilder();
        foreach (var group in groups)
        {
            subject.AddOrganizationName(group);
        }

        subject.AddCommonName(user);
        var request = new CertificateRequest(subject.Build(), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        return Sign(request, lifetime);
    }

    /// <summary>Whether <paramref name="certificate"/> was issued by this CA and is valid now.</summary>
    public bool Verify(X509Certificate2 certificate) => Verify(certificate, out _);

    /// <summary>
    /// As <see cref="Verify(X509Certificate2)"/>; a positive verdict holds until <paramref name="until"/> (the
    /// certificate's expiry, or at most <see cref="VerdictLifetime"/> from now), after which it must be asked again.
    /// </summary>
    public bool Verify(X509Certificate2 certificate, out DateTimeOffset until)
    {
        // Building a chain costs about as much CPU as the rest of a small request (OpenSSL chain, handles); a client
        // presents the same certificate on every request, so a positive verdict is kept until the certificate expires
        // or, at most, VerdictLifetime. The key is the SHA-256 of the whole certificate, never a name or a serial.
        var now = _time.GetUtcNow();
        var key = Convert.ToHexString(SHA256.HashData(certificate.RawDataMemory.Span));
        if (_verified.TryGetValue(key, out until) && now < until)
        {
            return true;
        }

        if (!BuildChain(certificate, now))
        {
            _verified.TryRemove(key, out _);
            until = default;
            return false;
        }

        if (_verified.Count >= VerdictCacheSize)
        {
            _verified.Clear();
        }

        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        until = notAfter < now + VerdictLifetime ? notAfter : now + VerdictLifetime;
        _verified[key] = until;
        return true;
    }

    private bool BuildChain(X509Certificate2 certificate, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        return chain.Build(certificate);
    }

    public void Dispose()
    {
        _caKey.Dispose();
        _ca.Dispose();
    }

    private X509Certificate2 Sign(CertificateRequest request, TimeSpan lifetime)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var now = _time.GetUtcNow();
        var notAfter = now + lifetime;
        if (notAfter > _ca.NotAfter)
        {
            notAfter = _ca.NotAfter;
        }

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7f;
        var generator = X509SignatureGenerator.CreateForECDsa(_caKey);
        return request.Create(_ca.SubjectName, generator, now.AddMinutes(-5), notAfter, serial);
    }

    private static bool Covers(X509Certificate2 cert, IReadOnlyCollection<string> dnsNames, IReadOnlyCollection<IPAddress> addresses)
    {
        var ext = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (ext is null)
        {
            return false;
        }

        var names = ext.EnumerateDnsNames().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var ips = ext.EnumerateIPAddresses().ToHashSet();
        return dnsNames.All(names.Contains) && addresses.All(ips.Contains);
    }

    internal static void WriteSecret(string path, string content)
    {
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            using var writer = new StreamWriter(stream);
            writer.Write(content);
        }
    }
}
