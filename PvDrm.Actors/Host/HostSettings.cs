using Akka.Configuration;
using PvDrm.Protocol;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Io;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors.Host;

/// <summary>
/// Everything under <c>pvdrm.host</c>, read and checked once at start-up. A bad value stops
/// start-up with a <see cref="ConfigurationException"/> naming the key.
/// </summary>
public sealed record HostSettings
{
    public const string Root = "pvdrm.host";

    /// <summary><c>default-device = auto</c>: the least-loaded device (of the host, or of the pool).</summary>
    public const string AutoDevice = "auto";

    /// <summary>One serializing actor for every request (PVDRM's back-end default) instead of concurrency.</summary>
    public bool Sequential { get; init; }

    /// <summary>"soft" (the embedded SoftGpu), "auto" (a DRM node if there is one, else SoftGpu), or a DRM node's path.</summary>
    public string Device { get; init; } = "soft";

    /// <summary>With <c>device = auto</c>: prefer nodes of this driver ("nouveau", "i915"); empty: any.</summary>
    public string? DeviceDriver { get; init; }

    /// <summary>The SoftGpu of <c>device = soft</c>, and what SoftGpu entries of <see cref="Devices"/> leave out.</summary>
    public SoftGpuOptions SoftGpu { get; init; } = new();

    /// <summary>
    /// <c>pvdrm.host.devices</c>, in file order. Empty: one device from <see cref="Device"/>
    /// (<c>soft</c> is a SoftGpu named soft0), so single-device configurations keep working.
    /// </summary>
    public IReadOnlyList<DeviceSettings> Devices { get; init; } = [];

    /// <summary>
    /// The device of guests that <see cref="GuestDevices"/> does not list; null (<c>none</c>):
    /// they wait for an operator's attach. With the single device of <see cref="Device"/>, the
    /// default name soft0 means that device, whatever its name.
    /// </summary>
    public string? DefaultDevice { get; init; } = DeviceSettings.DefaultName;

    /// <summary><c>pvdrm.host.guests.&lt;guest&gt;.device</c>; a null value: none until attached.</summary>
    public IReadOnlyDictionary<string, string?> GuestDevices { get; init; } = new Dictionary<string, string?>();

    /// <summary><c>guests.&lt;g&gt;.shared-memory</c>: the size of each VM guest's shared region (guests without one are left out).</summary>
    public IReadOnlyDictionary<string, ulong> GuestSharedMemory { get; init; } = new Dictionary<string, ulong>();

    /// <summary><c>shared-memory-dir</c>: where the host creates the guests' region files (pvdrm-&lt;guest&gt;.region).</summary>
    public string SharedMemoryDir { get; init; } = "/dev/shm";

    /// <summary>Path of the guest-facing Unix socket; null to not listen (tests wire links directly).</summary>
    public string? ListenUnix { get; init; }

    /// <summary>TCP listening address (ADDR:PORT) for remote guests; null: none. Needs tokens.</summary>
    public System.Net.IPEndPoint? ListenTcp { get; init; }

    /// <summary>AF_VSOCK listening CID and port, for guests in VMs; null: none. Needs tokens.</summary>
    public (uint Cid, uint Port)? ListenVsock { get; init; }

    /// <summary>File mode of the socket: who may connect at all.</summary>
    public uint ListenUnixMode { get; init; } = Convert.ToUInt32("660", 8);

    public ProtocolLimits Protocol { get; init; } = ProtocolLimits.Default;

    public AuthSettings Auth { get; init; } = new();

    /// <summary><c>pvdrm.host.sequential-turn</c>: how long one guest keeps the sequential gate.</summary>
    public SequentialTurnSettings SequentialTurn { get; init; } = new();

    /// <summary><c>pvdrm.host.admission</c>: the cost of connections before HELLO, the names remembered.</summary>
    public AdmissionSettings Admission { get; init; } = new();

    /// <summary>How long the I/O loop polls its sockets and rings after work before sleeping (<c>pvdrm.host.io-poll</c>).</summary>
    public TimeSpan IoPoll { get; init; } = Native.Io.EventLoop.AutoPoll;

    /// <summary>A guest's actors run on the I/O loop that serves its connection (<c>pvdrm.host.actors-on-io-loop</c>).</summary>
    public bool ActorsOnIoLoop { get; init; } = true;

    /// <summary>The shared-memory ring for local guests (<c>pvdrm.host.ring</c>).</summary>
    public RingSettings Ring { get; init; } = new();

    /// <summary>Groups of guests that may open each other's objects (global names, PRIME); a guest always may its own.</summary>
    public IReadOnlyList<IReadOnlyList<string>> SharingGroups { get; init; } = Array.Empty<IReadOnlyList<string>>();

    /// <summary>The admin socket (status, evict); null: none.</summary>
    public string? ControlUnix { get; init; }

    /// <summary>The Prometheus endpoint (ADDR:PORT); null: off.</summary>
    public string? MetricsListen { get; init; }

    public int ContextsPerGuest { get; init; } = 64;
    public int HandlesPerContext { get; init; } = 65536;
    public int ChannelsPerGuest { get; init; } = 64;

    /// <summary>DRM files (one per context on a real node) one guest may hold, and all guests together.</summary>
    public int DrmFilesPerGuest { get; init; } = 64;
    public int DrmFiles { get; init; } = 1024;
    public ulong MemoryPerGuest { get; init; } = 2UL << 30;
    public int QueuedPushbufsPerGuest { get; init; } = 64;

    // Host resources a guest drives indirectly (issue 16): charged before they are taken.

    /// <summary>GEM handles, each an actor, over all of a guest's contexts, imported ones included.</summary>
    public int HandlesPerGuest { get; init; } = 262144;

    /// <summary>Descriptors (and so host mappings) of a guest's buffers whose memory exists.</summary>
    public int DescriptorsPerGuest { get; init; } = 8192;

    /// <summary>Requests a guest may have in flight before the host stops reading from it.</summary>
    public int InFlightPerGuest { get; init; } = 256;

    /// <summary>The longest a request may wait (CPU_PREP, FENCE_WAIT without a timeout of their own).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reply bytes that may wait for a guest that does not read (<c>limits.send-queue</c>); past it the guest is disconnected.</summary>
    public long SendQueue { get; init; } = 16L << 20;

    /// <summary>Frames the I/O loop takes from one guest per wake-up before the others' turn (<c>frames-per-wake</c>).</summary>
    public int FramesPerWake { get; init; } = 64;

    public ConnectionOptions Connection => new()
    {
        MaxFrame = Protocol.MaxFrame,
        UnadmittedMaxFrame = Math.Min(Admission.HelloFrame, Protocol.MaxFrame),
        MaxPendingSendBytes = SendQueue,
        FramesPerWake = FramesPerWake,
    };

    /// <summary>A remote listener's address; these guests have no uid, so tokens must be configured.</summary>
    private static T? ListenAddress<T>(SettingsReader c, string key, AuthSettings auth, Func<string, T?> parse)
    {
        string value = c.String(key);
        if (value.Length == 0) return default;
        if (auth.TokensFile == null)
            throw new ConfigurationException($"{Root}.{key}: guests that connect over {key[7..]} have no uid to admit them by: set {Root}.auth.tokens-file");
        try
        {
            return parse(value) ?? throw new FormatException("no address");
        }
        catch (FormatException e)
        {
            throw new ConfigurationException($"{Root}.{key}: {e.Message}");
        }
    }

    /// <summary>A SoftGpu block: <c>pvdrm.host.soft-gpu</c>, or a device entry falling back to it.</summary>
    private static SoftGpuOptions ReadSoftGpu(SettingsReader c)
    {
        // Engine time and queued work: one guest's budget holds at least one full pushbuf, the device's at least one guest's.
        int maxCommands = (int)c.Bytes("max-commands", 64, 64 << 20);
        long queuedPerGuest = c.Bytes("max-queued-commands-per-guest", maxCommands, long.MaxValue);
        int engines = c.Int("engines", 0, 1024) is var e && e > 0 ? e : Environment.ProcessorCount;
        // Mappings: a guest's share holds one command's buffers, the device's every engine's and one share.
        int mappingsPerGuest = c.Int("max-mappings-per-guest", SoftGpuOptions.MostPinnedByOneCommand, 1 << 24);
        int mappings = c.Int("max-mappings", Math.Max(mappingsPerGuest, SoftGpuOptions.MostPinnedByOneCommand * engines), 1 << 24);
        return new()
        {
            Engines = engines,
            MaxMappings = mappings,
            MaxMappingsPerOwner = mappingsPerGuest,
            ScrubChunkBytes = (int)c.Bytes("scrub-chunk", 4096, 1 << 30) is var chunk && chunk % 4096 == 0
                ? chunk : throw new ConfigurationException($"{c.Shown}.scrub-chunk: {chunk} bytes is not a whole number of 4096-byte pages"),
            MemoryBytes = (ulong)c.Bytes("memory", 1 << 20, long.MaxValue),
            MaxBufferBytes = (ulong)c.Bytes("max-buffer", 4096, int.MaxValue),
            MaxCommandBytes = maxCommands,
            SemaphoreTimeout = c.Duration("semaphore-timeout"),
            TimeSlice = c.Duration("time-slice"),
            MaxDescriptors = c.Int("max-descriptors", 1, 1 << 24),
            MaxQueuedCommandBytesPerOwner = queuedPerGuest,
            MaxQueuedCommandBytes = c.Bytes("max-queued-commands", queuedPerGuest, long.MaxValue),
            Personality = c.String("personality") switch
            {
                "pvdrm" => SoftGpuPersonality.PvDrm,
                "nouveau" => SoftGpuPersonality.Nouveau,
                var other => throw new ConfigurationException($"{c.Shown}.personality: '{other}' is not pvdrm or nouveau"),
            },
        };
    }

    public static HostSettings Create(Config config)
    {
        var merged = PvDrmConfig.OverReference(config);
        var c = new SettingsReader(merged, Root);
        string device = c.String("device");
        string defaultDevice = c.String("default-device");
        if (device != "soft" && device != "auto" && !device.StartsWith('/'))
            throw new ConfigurationException($"{Root}.device: '{device}' is not soft, auto or the path of a DRM node such as /dev/dri/renderD128");
        string driver = c.String("device-driver");
        string listen = c.String("listen.unix");
        var auth = AuthSettings.Create(c);
        var tcp = ListenAddress(c, "listen.tcp", auth, v => Endpoints.ParseListen($"tcp:{v}").Tcp);
        var vsock = ListenAddress(c, "listen.vsock", auth, v => Endpoints.ParseListen(v.Contains(':') ? $"vsock:{v}" : $"vsock:any:{v}").Vsock);
        string control = c.String("control.unix");
        string metrics = c.String("metrics.listen");
        if (metrics.Length > 0 && (!System.Net.IPEndPoint.TryParse(metrics, out _) || !metrics.Contains(':')))
            throw new ConfigurationException($"{Root}.metrics.listen: '{metrics}' is not ADDR:PORT such as 127.0.0.1:9464");
        int maxFrame = (int)c.Bytes("limits.max-frame", 4096, 64 << 20);
        return new HostSettings
        {
            SequentialTurn = SequentialTurnSettings.Create(new SettingsReader(merged, SequentialTurnSettings.Root)),
            Admission = AdmissionSettings.Create(new SettingsReader(merged, AdmissionSettings.Root), maxFrame),
            Ring = RingSettings.Create(new SettingsReader(merged, RingSettings.Root), maxFrame),
            IoPoll = c.PollOrAuto("io-poll", Native.Io.EventLoop.AutoPoll),
            FramesPerWake = c.Int("frames-per-wake", 1, 1 << 16),
            ActorsOnIoLoop = c.Bool("actors-on-io-loop"),
            Sequential = c.Bool("sequential"),
            Device = device,
            DeviceDriver = driver.Length == 0 ? null : driver,
            SoftGpu = ReadSoftGpu(new SettingsReader(merged, $"{Root}.soft-gpu")),
            Devices = DeviceSettings.ReadAll(merged, ReadSoftGpu),
            DefaultDevice = defaultDevice == "none" ? null : defaultDevice,
            GuestDevices = DeviceSettings.ReadGuests(merged),
            GuestSharedMemory = DeviceSettings.ReadSharedMemory(merged),
            SharedMemoryDir = c.String("shared-memory-dir"),
            ListenUnix = listen.Length == 0 ? null : listen,
            ControlUnix = control.Length == 0 ? null : control,
            MetricsListen = metrics.Length == 0 ? null : metrics,
            Auth = auth,
            ListenTcp = tcp,
            ListenVsock = vsock,
            SharingGroups = c.StringLists("sharing.groups"),
            ListenUnixMode = c.Octal("listen.unix-mode"),
            Protocol = new ProtocolLimits
            {
                MaxFrame = (int)c.Bytes("limits.max-frame", 4096, 64 << 20),
                MaxPushbufBuffers = c.Int("limits.pushbuf-buffers", 1, 65536),
                MaxPushEntries = c.Int("limits.pushbuf-entries", 1, 65536),
            },
            ContextsPerGuest = c.Int("limits.contexts-per-guest", 1, 1 << 20),
            HandlesPerContext = c.Int("limits.handles-per-context", 1, 1 << 24),
            ChannelsPerGuest = c.Int("limits.channels-per-guest", 1, 1 << 20),
            DrmFilesPerGuest = c.Int("limits.drm-files-per-guest", 1, 1 << 20),
            DrmFiles = c.Int("limits.drm-files", 1, 1 << 20),
            MemoryPerGuest = (ulong)c.Bytes("limits.memory-per-guest", 4096, long.MaxValue),
            QueuedPushbufsPerGuest = c.Int("limits.queued-pushbufs-per-guest", 1, 1 << 20),
            InFlightPerGuest = c.Int("limits.in-flight-per-guest", 1, 1 << 20),
            RequestTimeout = c.Duration("limits.request-timeout"),
            SendQueue = c.Bytes("limits.send-queue", maxFrame, long.MaxValue),
            HandlesPerGuest = c.Int("limits.handles-per-guest", 1, 1 << 24),
            DescriptorsPerGuest = c.Int("limits.descriptors-per-guest", 1, 1 << 24),
        };
    }
}
