using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PvDrm.Tests.Pool;

/// <summary>
/// A pool's certificate authority made in the test (what deploy/pool-certs.sh makes with
/// openssl): ca.pem and one PKCS#12 per node, in a folder of the test's.
/// </summary>
internal sealed class PoolCertificates
{
    public const string Password = "pool-test";

    private readonly X509Certificate2 _ca;

    public PoolCertificates(string dir, string name)
    {
        Dir = dir;
        Directory.CreateDirectory(dir);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(CaPem, _ca.ExportCertificatePem());
    }

    public string Dir { get; }

    public string CaPem => Path.Combine(Dir, "ca.pem");

    /// <summary>Makes (once) and returns the path of <paramref name="node"/>'s PKCS#12, signed by this CA.</summary>
    public string Node(string node)
    {
        string path = Path.Combine(Dir, $"{node}.p12");
        if (File.Exists(path)) return path;
        File.WriteAllBytes(path, Issue(node).Export(X509ContentType.Pkcs12, Password));
        return path;
    }

    /// <summary><paramref name="node"/>'s certificate with its private key.</summary>
    public X509Certificate2 Issue(string node)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={node}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12, so the key is usable by SslStream on Linux.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12, Password), Password);
    }

    /// <summary>The <c>pvdrm.cluster.tls</c> block of a node presenting <paramref name="node"/>'s certificate and trusting <paramref name="trusted"/>.</summary>
    public string TlsHocon(string node, PoolCertificates? trusted = null) => $$"""
        tls {
          certificate = "{{Node(node)}}"
          password = "{{Password}}"
          ca = "{{(trusted ?? this).CaPem}}"
        }
        """;
}
