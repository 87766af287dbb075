using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Hosting;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// Akka.Remote's TLS for a pool node: its own certificate, mutual authentication, and a peer
/// check against the pool's CA alone. Akka's own chain check (<c>suppress-validation = off</c>)
/// trusts the system's store, so any publicly issued certificate would pass it; here the chain
/// is built with the pool's CA as the only root, for inbound and outbound connections alike.
/// </summary>
internal static class PoolTls
{
    /// <summary>Fills Akka.Remote.Hosting's TLS options, which become the transport's <c>DotNettySslSetup</c>.</summary>
    public static void Configure(SslOptions ssl, ClusterTlsSettings tls)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(tls.Certificate, tls.Password);
        }
        catch (CryptographicException e)
        {
            throw new ConfigurationException($"{ClusterTlsSettings.Root}.certificate: '{tls.Certificate}' is not a PKCS#12 file this password opens: {e.Message}");
        }
        if (!certificate.HasPrivateKey)
            throw new ConfigurationException($"{ClusterTlsSettings.Root}.certificate: '{tls.Certificate}' holds no private key");
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(tls.Ca);
        }
        catch (CryptographicException e)
        {
            throw new ConfigurationException($"{ClusterTlsSettings.Root}.ca: '{tls.Ca}' is not a PEM certificate: {e.Message}");
        }
        if (authorities.Count == 0)
            throw new ConfigurationException($"{ClusterTlsSettings.Root}.ca: '{tls.Ca}' holds no certificate");
        if (!ChainsTo(certificate, authorities, out string why))
            throw new ConfigurationException($"{ClusterTlsSettings.Root}.certificate: this node's own certificate does not chain to {ClusterTlsSettings.Root}.ca ({why})");
        ssl.X509Certificate = certificate;
        ssl.SuppressValidation = false;
        ssl.RequireMutualAuthentication = true;
        ssl.ValidateCertificateHostname = false;
        ssl.CustomValidator = (peer, _, remote, _, log) => Accept(peer, remote, authorities, log);
    }

    /// <summary>The platform's verdict is ignored on purpose: it judged against the system's roots, not the pool's.</summary>
    private static bool Accept(X509Certificate2? peer, string remote, X509Certificate2Collection authorities, ILoggingAdapter log)
    {
        if (peer == null)
        {
            log.Warning("pool: refused {0}: it presented no certificate (pvdrm.cluster.tls)", remote);
            return false;
        }
        if (ChainsTo(peer, authorities, out string why)) return true;
        log.Warning("pool: refused {0}: its certificate '{1}' does not chain to the pool's CA (pvdrm.cluster.tls.ca): {2}", remote, peer.Subject, why);
        return false;
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection authorities, out string why)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        // A private CA for a handful of nodes publishes no revocation list; a node is removed by a new CA.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain.Build(certificate))
        {
            why = "";
            return true;
        }
        why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty("untrusted"));
        return false;
    }
}
