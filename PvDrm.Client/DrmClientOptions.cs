namespace PvDrm.Client;

/// <summary>How a <see cref="DrmClient"/> introduces itself and sizes its frames.</summary>
public sealed record DrmClientOptions
{
    /// <summary>The name presented in HELLO; the host refuses a second connection with the same name.</summary>
    public string Name { get; init; } = Environment.MachineName;

    /// <summary>The token presented in HELLO, when the host requires one.</summary>
    public string Token { get; init; } = "";

    /// <summary>The largest frame asked for; the host may grant less.</summary>
    public int MaxFrame { get; init; } = 256 * 1024;

    /// <summary>
    /// GEM_READ/GEM_WRITE chunks one call keeps in flight. Enough to keep the link busy; bounded
    /// so a large copy never fills the connection's send queue (16 MiB) or the host's in-flight limit.
    /// </summary>
    public int ChunksInFlight { get; init; } = 8;

    /// <summary>In a pool of hosts: how many redirects (EREMOTE) one OPEN_CONTEXT follows before giving up with ELOOP.</summary>
    public int MaxRedirects { get; init; } = PvDrm.Protocol.ClientLink.DefaultMaxRedirects;

    /// <summary>
    /// Over a Unix socket, move requests and replies through a shared-memory ring when the host
    /// offers one (PROTOCOL.md, Shared-memory ring); off: the socket only.
    /// </summary>
    public bool Ring { get; init; } = true;

    /// <summary>The ring's slots: each holds one frame, so the slot size also caps the frame size while on the ring.</summary>
    public Native.Io.Ring.RingShape RingShape { get; init; } = new(SlotSize: 64 * 1024, RequestSlots: 32, ReplySlots: 32);

    /// <summary>How long the reply reader polls after a reply before sleeping; null: 50 µs with 4 or more cores, none below.</summary>
    public TimeSpan? RingPoll { get; init; }

    /// <summary>PVDRM's front-end <c>cache</c>: pool closed GEM objects for reuse. Off by default.</summary>
    public GemCacheOptions Cache { get; init; } = new();
}
