using Akka.Configuration;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// <c>pvdrm.cluster.bootstrap</c>: the nodes find each other through Akka.Management's Cluster
/// Bootstrap instead of a fixed seed list. Each node serves a small HTTP endpoint (the
/// management endpoint) that answers who its cluster members are; a discovery method names the
/// endpoints of the pool's nodes (here the configuration's <see cref="Endpoints"/>), and the
/// node with the lowest address of those found starts the pool, the others join it.
/// </summary>
public sealed record ClusterBootstrapSettings
{
    public const string Root = ClusterSettings.Root + ".bootstrap";

    public bool Enabled { get; init; }

    /// <summary>The name the pool's nodes share in discovery.</summary>
    public string ServiceName { get; init; } = "pvdrm-pool";

    /// <summary>The management endpoints (HOST:PORT) of the pool's nodes, this one included.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];

    /// <summary>How many of <see cref="Endpoints"/> must answer before a new pool is started.</summary>
    public int RequiredContactPoints { get; init; } = 2;

    /// <summary>Where the management endpoint listens; loopback by default, so nothing outside the machine reaches it.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>The address the other nodes reach the endpoint at (empty: <see cref="Hostname"/>).</summary>
    public string PublicHostname { get; init; } = "";

    public int Port { get; init; } = 8558;

    /// <summary>The address this node's endpoint is known by, among <see cref="Endpoints"/>.</summary>
    public string AdvertisedHostname => PublicHostname.Length > 0 ? PublicHostname : Hostname;

    internal static ClusterBootstrapSettings Read(SettingsReader c)
    {
        var bootstrap = new ClusterBootstrapSettings
        {
            Enabled = c.Bool("bootstrap.enabled"),
            ServiceName = c.String("bootstrap.service-name"),
            Endpoints = c.Strings("bootstrap.endpoints"),
            RequiredContactPoints = c.Int("bootstrap.required-contact-points", 1, 1000),
            Hostname = c.String("bootstrap.management.hostname"),
            PublicHostname = c.String("bootstrap.management.public-hostname"),
            Port = c.Int("bootstrap.management.port", 1, 65535),
        };
        if (!bootstrap.Enabled) return bootstrap;
        // It becomes a key of Akka's discovery configuration: a dot would nest it.
        if (!System.Text.RegularExpressions.Regex.IsMatch(bootstrap.ServiceName, "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"))
            throw new ConfigurationException($"{Root}.service-name: '{bootstrap.ServiceName}' is not a valid service name: 1-63 letters, digits and '-', starting and ending with a letter or digit");
        if (bootstrap.Hostname.Length == 0)
            throw new ConfigurationException($"{Root}.management.hostname: the management endpoint needs an address to listen on (127.0.0.1 keeps it on this machine)");
        if (bootstrap.Endpoints.Count == 0)
            throw new ConfigurationException($"{Root}.endpoints: bootstrap with configuration discovery needs the management endpoints (HOST:PORT) of the pool's nodes");
        foreach (string endpoint in bootstrap.Endpoints)
        {
            int colon = endpoint.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], out int port) || port is < 1 or > 65535)
                throw new ConfigurationException($"{Root}.endpoints: '{endpoint}' is not HOST:PORT");
        }
        if (bootstrap.RequiredContactPoints > bootstrap.Endpoints.Count)
            throw new ConfigurationException($"{Root}.required-contact-points: {bootstrap.RequiredContactPoints} is more than the {bootstrap.Endpoints.Count} endpoints listed: the pool would never start");
        return bootstrap;
    }
}
