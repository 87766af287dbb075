using Akka.Configuration;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// <c>pvdrm.cluster</c>: several pvdrm-host nodes as one pool of devices (CLUSTER.md). Off by
/// default, and then nothing of Akka.Cluster is loaded: a single host is exactly as before.
/// </summary>
public sealed record ClusterSettings
{
    public const string Root = "pvdrm.cluster";

    public bool Enabled { get; init; }

    /// <summary>Unique in the cluster; the pool names this node's devices <c>&lt;node&gt;/&lt;device&gt;</c>.</summary>
    public string NodeName { get; init; } = "";

    /// <summary>The address remoting listens on (may be 0.0.0.0).</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>The address other nodes reach this one at, behind NAT or in a container (empty: <see cref="Hostname"/>).</summary>
    public string PublicHostname { get; init; } = "";

    public int Port { get; init; }

    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>Cluster Bootstrap through Akka.Management, instead of <see cref="SeedNodes"/>.</summary>
    public ClusterBootstrapSettings Bootstrap { get; init; } = new();

    /// <summary>Guest-facing addresses of this node, which other nodes redirect guests to.</summary>
    public IReadOnlyList<string> Advertise { get; init; } = [];

    /// <summary>Move the guests of a lost node to other devices of the pool.</summary>
    public bool Failover { get; init; } = true;

    /// <summary>How long a silent node counts as alive, and then stays unreachable before the split-brain resolver downs it.</summary>
    public TimeSpan DownAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a node's heartbeats may pause before it counts as unreachable (pvdrm.cluster.failure-detection).</summary>
    public TimeSpan FailureDetection { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Where the placements are kept across restarts (LightningDB); empty: in memory only.</summary>
    public string StateDirectory { get; init; } = "";

    /// <summary>How long a placed guest may be connected to no node before its placement is forgotten; zero: never.</summary>
    public TimeSpan PlacementExpiry { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How often this node checks its load and publishes it if it changed.</summary>
    public TimeSpan LoadInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Placements recorded for guests with free names (pvdrm.cluster.max-free-placements).</summary>
    public int MaxFreePlacements { get; init; } = 1024;

    /// <summary>Mutual TLS between the nodes; required unless <see cref="Insecure"/>.</summary>
    public ClusterTlsSettings Tls { get; init; } = new();

    /// <summary>Set by the operator to run a pool without TLS (a network only the nodes can reach); logged and shown in status.</summary>
    public bool Insecure { get; init; }

    public static ClusterSettings Create(Config config)
    {
        var c = new SettingsReader(PvDrmConfig.OverReference(config), Root);
        var settings = new ClusterSettings
        {
            Enabled = c.Bool("enabled"),
            NodeName = c.String("node-name"),
            Hostname = c.String("hostname"),
            PublicHostname = c.String("public-hostname"),
            Port = c.Int("port", 0, 65535),
            SeedNodes = c.Strings("seed-nodes"),
            Bootstrap = ClusterBootstrapSettings.Read(c),
            Advertise = c.Strings("advertise"),
            Failover = c.Bool("failover"),
            DownAfter = c.Duration("down-after"),
            FailureDetection = c.Duration("failure-detection"),
            StateDirectory = c.String("state-dir"),
            PlacementExpiry = c.Duration("placement-expiry"),
            LoadInterval = c.Duration("load-interval"),
            MaxFreePlacements = c.Int("max-free-placements", 0, 1_000_000),
            Tls = ClusterTlsSettings.Read(c),
            Insecure = c.Bool("insecure"),
        };
        if (!settings.Enabled) return settings;
        if (settings.Hostname.Length == 0)
            throw new ConfigurationException($"{Root}.hostname: remoting needs an address to listen on (0.0.0.0: every interface, with public-hostname the one the other nodes reach)");
        if (settings.Bootstrap.Enabled && settings.SeedNodes.Count > 0)
            throw new ConfigurationException($"{Root}.seed-nodes: set either seed-nodes or {ClusterBootstrapSettings.Root}.enabled = on, not both: a node that joins through its seeds and also bootstraps could start a second pool");
        if (settings.FailureDetection < TimeSpan.FromMilliseconds(500))
            throw new ConfigurationException($"{Root}.failure-detection: {settings.FailureDetection.TotalMilliseconds} ms is below the least Akka's failure detector can tell from a heartbeat interval ({HeartbeatInterval.TotalMilliseconds} ms): at least 500 ms");
        if (settings.LoadInterval < TimeSpan.FromMilliseconds(100))
            throw new ConfigurationException($"{Root}.load-interval: at least 100 ms (every check may write to every node)");
        if (settings.StateDirectory.Length > 0 && !Path.IsPathFullyQualified(settings.StateDirectory))
            throw new ConfigurationException($"{Root}.state-dir: '{settings.StateDirectory}' is not an absolute path");
        if (!settings.Tls.Enabled && !settings.Insecure)
            throw new ConfigurationException($"{ClusterTlsSettings.Root}.certificate: a pool node needs mutual TLS (certificate, password, ca; deploy/pool-certs.sh makes them): without it anyone who reaches {Root}.port joins the pool. To run without TLS on a network only the nodes can reach, set {Root}.insecure = on");
        if (!DeviceSettings.ValidName().IsMatch(settings.NodeName))
            throw new ConfigurationException($"{Root}.node-name: '{settings.NodeName}' is not a valid node name: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
        if (settings.Advertise.Count == 0)
            throw new ConfigurationException($"{Root}.advertise: a node of a pool needs at least one guest-facing address (unix:PATH or tcp:HOST:PORT) to redirect guests to");
        foreach (string address in settings.Advertise)
            if (!address.StartsWith("unix:", StringComparison.Ordinal) && !address.StartsWith("tcp:", StringComparison.Ordinal))
                throw new ConfigurationException($"{Root}.advertise: '{address}' is not unix:PATH or tcp:HOST:PORT");
        return settings;
    }

    /// <summary>
    /// Akka names TLS addresses <c>akka.ssl.tcp://</c>: a seed written either way is used in the
    /// scheme this node speaks, so the same list serves a pool with or without TLS.
    /// </summary>
    public string SeedAddress(string seed)
    {
        const string Plain = "akka.tcp://", Tls = "akka.ssl.tcp://";
        if (this.Tls.Enabled && seed.StartsWith(Plain, StringComparison.Ordinal)) return Tls + seed[Plain.Length..];
        if (!this.Tls.Enabled && seed.StartsWith(Tls, StringComparison.Ordinal)) return Plain + seed[Tls.Length..];
        return seed;
    }

    /// <summary>Heartbeats between nodes; failure-detection is a few of them.</summary>
    internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The LightningDB folder of the durable placements, under <see cref="StateDirectory"/>.</summary>
    public string PlacementsDirectory => Path.Combine(StateDirectory, "placements");

    /// <summary>The address other nodes use for this one.</summary>
    public string AdvertisedHostname => PublicHostname.Length > 0 ? PublicHostname : Hostname;
}
