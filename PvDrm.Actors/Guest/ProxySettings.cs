using Akka.Configuration;
using PvDrm.Client;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest;

/// <summary>Everything under <c>pvdrm.guest</c>, read and checked once at start-up.</summary>
public sealed record ProxySettings
{
    public const string Root = "pvdrm.guest";

    /// <summary>Where the host (or another proxy) listens: unix:PATH, tcp:HOST:PORT or vsock:CID:PORT.</summary>
    public string Host { get; init; } = "unix:/run/pvdrm/host.sock";

    /// <summary>Where this proxy serves local applications: unix:PATH.</summary>
    public string Listen { get; init; } = "unix:/run/pvdrm/guest.sock";

    /// <summary>The guest's name in HELLO.</summary>
    public string Name { get; init; } = Environment.MachineName;

    public string Token { get; init; } = "";

    /// <summary>The longest wait between attempts to reach a host that is not there yet.</summary>
    public TimeSpan ConnectBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the I/O loop polls after work before sleeping (<c>pvdrm.guest.io-poll</c>).</summary>
    public TimeSpan IoPoll { get; init; } = Native.Io.EventLoop.AutoPoll;

    /// <summary>PVDRM's front-end <c>cache</c>: pool closed GEM objects for the next GEM_NEW of any application.</summary>
    public GemCacheOptions Cache { get; init; } = new();

    /// <summary>Where the preload shim of unmodified DRM programs connects (unix:PATH); null: no render node.</summary>
    public string? ShimUnix { get; init; }

    /// <summary>The VM's shared region with the host: "" none, "auto" the ivshmem device's BAR, or a file (<see cref="GuestRegion"/>).</summary>
    public string SharedMemory { get; init; } = "";

    /// <summary>Who may open a global name an application exported (pvdrm.guest.sharing).</summary>
    public NameSharing Sharing { get; init; } = NameSharing.Application;

    /// <summary>Global names one application (or program) may hold at once (pvdrm.guest.names-per-application).</summary>
    public int NamesPerApplication { get; init; } = 4096;

    /// <summary>How applications share the host link (pvdrm.guest.upstream).</summary>
    public UpstreamLimits Upstream { get; init; } = new();

    /// <summary>Contexts one application may have open (<c>contexts-per-application</c>); EMFILE beyond.</summary>
    public int ContextsPerApplication { get; init; } = 64;

    /// <summary>Bytes that may wait for a peer (an application, or the host) that does not read (<c>send-queue</c>).</summary>
    public long SendQueue { get; init; } = 16L << 20;

    /// <summary>Frames the I/O loop takes from one connection per wake-up (<c>frames-per-wake</c>).</summary>
    public int FramesPerWake { get; init; } = 64;

    /// <summary>The limits of the proxy's connections: its applications' and its link to the host.</summary>
    public ConnectionOptions Connection => new() { MaxPendingSendBytes = SendQueue, FramesPerWake = FramesPerWake };

    /// <summary>The shared-memory ring to the host and from applications (pvdrm.guest.ring).</summary>
    public ProxyRingSettings Ring { get; init; } = new();

    /// <summary>The proxy's admin socket (status); null: none.</summary>
    public string? ControlUnix { get; init; }

    public static ProxySettings Create(Config config)
    {
        var merged = PvDrmConfig.OverReference(config);
        var c = new SettingsReader(merged, Root);
        // A proxy in a container takes its share's name and token from PVDRM_CREDENTIALS, as pvdrm-guest run does.
        var (name, token) = GuestCredentials.Resolve(c.String("name"), c.String("token"), Environment.MachineName);
        return new ProxySettings
        {
            Host = HostEndpoint(c),
            Listen = UnixEndpoint(c, "listen"),
            Name = name,
            // No token configured or in PVDRM_CREDENTIALS: the one systemd hands over (LoadCredential=pvdrm-token:...), if any.
            Token = token.Length > 0 ? token : SystemdCredentials.ReadLine(SystemdCredentials.Token) ?? "",
            ConnectBackoff = c.Duration("connect-backoff"),
            IoPoll = c.PollOrAuto("io-poll", Native.Io.EventLoop.AutoPoll),
            Cache = new GemCacheOptions
            {
                Enabled = c.Bool("cache.enabled"),
                MaxBytes = c.Bytes("cache.max-bytes", 0, long.MaxValue),
                MaxObjects = c.Int("cache.max-objects", 0, 1 << 24),
            },
            Sharing = c.String("sharing") switch
            {
                "application" => NameSharing.Application,
                "guest" => NameSharing.Guest,
                "host" => NameSharing.Host,
                var other => throw new ConfigurationException($"{Root}.sharing: '{other}' is not application, guest or host"),
            },
            NamesPerApplication = c.Int("names-per-application", 1, 1 << 24),
            ContextsPerApplication = c.Int("contexts-per-application", 1, 1 << 16),
            SendQueue = c.Bytes("send-queue", 1 << 20, long.MaxValue),
            FramesPerWake = c.Int("frames-per-wake", 1, 1 << 16),
            Upstream = ReadUpstream(c),
            ControlUnix = c.String("control.unix") is { Length: > 0 } control ? control : null,
            ShimUnix = c.String("shim.unix").Length > 0 ? UnixEndpoint(c, "shim.unix") : null,
            SharedMemory = c.String("shared-memory"),
            Ring = ProxyRingSettings.Create(new SettingsReader(merged, ProxyRingSettings.Root)),
        }.Checked();
    }

    /// <summary>
    /// Requests in the window that the host has not taken wait for room in the upstream ring, within
    /// the ring connection's bound; past it the link (every application's) would end, so a window
    /// that could pass it is refused here.
    /// </summary>
    private ProxySettings Checked()
    {
        long waiting = (long)Upstream.Window * Ring.Shape.SlotSize;
        if (Ring.Enabled && waiting > Native.Io.Ring.RingClientConnection.MaxOverflowBytes)
            throw new ConfigurationException($"{UpstreamLimits.Keys.Window} ({Upstream.Window}) x {ProxyRingSettings.Root}.slot-size ({Ring.Shape.SlotSize}) " +
                $"is {waiting} bytes, more than the {Native.Io.Ring.RingClientConnection.MaxOverflowBytes} that may wait for room in the ring to the host: lower either");
        return this;
    }

    private static UpstreamLimits ReadUpstream(SettingsReader c)
    {
        var limits = new UpstreamLimits
        {
            Window = c.Int("upstream.window", 2, 1 << 20),
            InFlightPerApplication = c.Int("upstream.in-flight-per-application", 1, 1 << 20),
            RequestsPerApplication = c.Int("upstream.requests-per-application", 1, 1 << 20),
            MaxQueuedBytes = c.Bytes("upstream.max-queued-bytes", 2, long.MaxValue),
            MaxQueuedBytesPerApplication = c.Bytes("upstream.max-queued-bytes-per-application", 1, long.MaxValue),
        };
        // One application must never be able to take the whole window or the whole queue.
        if (limits.InFlightPerApplication >= limits.Window)
            throw new ConfigurationException($"{UpstreamLimits.Keys.InFlightPerApplication} ({limits.InFlightPerApplication}) must be less than {UpstreamLimits.Keys.Window} ({limits.Window})");
        if (limits.MaxQueuedBytesPerApplication >= limits.MaxQueuedBytes)
            throw new ConfigurationException($"{UpstreamLimits.Keys.MaxQueuedBytesPerApplication} ({limits.MaxQueuedBytesPerApplication}) must be less than {UpstreamLimits.Keys.MaxQueuedBytes} ({limits.MaxQueuedBytes})");
        return limits;
    }

    /// <summary>The path of a unix:PATH endpoint.</summary>
    public static string UnixPath(string endpoint) =>
        endpoint.StartsWith("unix:", StringComparison.Ordinal) && endpoint.Length > 5
            ? endpoint[5..]
            : throw new ConfigurationException($"'{endpoint}' is not a unix:PATH endpoint");

    private static string HostEndpoint(SettingsReader c)
    {
        string value = c.String("host");
        try
        {
            Endpoints.Validate(value);
            return value;
        }
        catch (FormatException e)
        {
            throw new ConfigurationException($"{Root}.host: {e.Message}");
        }
    }

    private static string UnixEndpoint(SettingsReader c, string key)
    {
        string value = c.String(key);
        try
        {
            UnixPath(value);
            return value;
        }
        catch (ConfigurationException e)
        {
            throw new ConfigurationException($"{Root}.{key}: {e.Message}");
        }
    }
}
