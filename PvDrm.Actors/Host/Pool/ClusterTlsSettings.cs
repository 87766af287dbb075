using Akka.Configuration;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// <c>pvdrm.cluster.tls</c>: mutual TLS between the nodes of a pool. Each node presents
/// <see cref="Certificate"/> (PKCS#12 with its private key) and accepts only peers whose
/// certificate chains to <see cref="Ca"/> (PEM), the pool's own authority, never the system's.
/// </summary>
public sealed record ClusterTlsSettings
{
    public const string Root = ClusterSettings.Root + ".tls";

    /// <summary>This node's certificate and key (PKCS#12); empty: no TLS.</summary>
    public string Certificate { get; init; } = "";

    public string Password { get; init; } = "";

    /// <summary>The pool's certificate authority (PEM, one or more certificates).</summary>
    public string Ca { get; init; } = "";

    public bool Enabled => Certificate.Length > 0;

    internal static ClusterTlsSettings Read(SettingsReader c)
    {
        var tls = new ClusterTlsSettings
        {
            Certificate = c.String("tls.certificate"),
            Password = c.String("tls.password"),
            Ca = c.String("tls.ca"),
        };
        if (tls.Enabled && tls.Ca.Length == 0)
            throw new ConfigurationException($"{Root}.ca: a node with a certificate needs the pool's CA (PEM) to check its peers against");
        if (!tls.Enabled && tls.Ca.Length > 0)
            throw new ConfigurationException($"{Root}.certificate: {Root}.ca is set but this node has no certificate (PKCS#12) to present");
        foreach (var (key, path) in new[] { ("certificate", tls.Certificate), ("ca", tls.Ca) })
            if (path.Length > 0 && !File.Exists(path))
                throw new ConfigurationException($"{Root}.{key}: no file '{path}'");
        return tls;
    }
}
