namespace PvDrm.Actors.Host;

/// <summary>
/// <c>pvdrm.host.admission</c>: what a connection may cost before HELLO is accepted, and how
/// many departed guests' names the host remembers. Whoever can reach the socket can open
/// connections, so until a credential is checked they are bounded and cheap.
/// </summary>
public sealed record AdmissionSettings
{
    public const string Root = HostSettings.Root + ".admission";

    /// <summary>A connection that has not said HELLO by then is told why and closed.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Until admitted: the largest frame read, and the most reply bytes queued.</summary>
    public int HelloFrame { get; init; } = 4096;

    /// <summary>Connections not yet admitted, over all peers; more are told why and closed at once.</summary>
    public int UnadmittedTotal { get; init; } = 256;

    /// <summary>Connections not yet admitted from one peer (a uid, or a TCP address, or a vsock CID).</summary>
    public int UnadmittedPerPeer { get; init; } = 32;

    /// <summary>Departed guests whose names attach and detach still accept; the least recently admitted are forgotten.</summary>
    public int RememberedGuests { get; init; } = 1024;

    internal static AdmissionSettings Create(SettingsReader c, int maxFrame) => new()
    {
        HelloTimeout = c.Duration("hello-timeout"),
        HelloFrame = (int)c.Bytes("hello-frame", 256, maxFrame),
        UnadmittedTotal = c.Int("unadmitted-total", 1, 1 << 20),
        UnadmittedPerPeer = c.Int("unadmitted-per-peer", 1, 1 << 20),
        RememberedGuests = c.Int("remembered-guests", 0, 1 << 20),
    };
}
