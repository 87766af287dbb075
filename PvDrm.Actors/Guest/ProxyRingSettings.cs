using Akka.Configuration;
using PvDrm.Client;
using PvDrm.Native.Io.Ring;

namespace PvDrm.Actors.Guest;

/// <summary>
/// <c>pvdrm.guest.ring</c>: the shared-memory ring on both of the proxy's sides (PROTOCOL.md,
/// Shared-memory ring). Upstream, the proxy offers the host a ring of <see cref="Shape"/>; towards
/// applications it accepts their rings within <see cref="Limits"/>, as the host does within
/// <c>pvdrm.host.ring</c>. Either side falls back to the socket when the peer declines.
/// </summary>
public sealed record ProxyRingSettings
{
    public const string Root = ProxySettings.Root + ".ring";

    /// <summary>Off: no ring is offered to the host, HELLO offers none to applications and their RING_ATTACH is refused (EOPNOTSUPP).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// The ring offered to the host: every application's requests share it, so it has more slots
    /// than one DrmClient's; 64 KiB slots, 64 each way: 8 MiB and a page, within the host's default max-bytes.
    /// </summary>
    public RingShape Shape { get; init; } = new(SlotSize: 64 * 1024, RequestSlots: 64, ReplySlots: 64);

    /// <summary>What one application's ring may be; the keys are named in refusals.</summary>
    public RingLimits Limits { get; init; } = Host.RingSettings.DefaultLimits(Root);

    internal static ProxyRingSettings Create(SettingsReader c)
    {
        int slots = c.Int("slots", 1, 1 << 16);
        var shape = new RingShape((int)c.Bytes("slot-size", RingOffer.MinSlotSize, 64 << 20), slots, slots);
        if (RingOffer.Check(shape) is { } why) throw new ConfigurationException($"{Root}.slots/slot-size: {why}");
        return new ProxyRingSettings
        {
            Enabled = c.Bool("enabled"),
            Shape = shape,
            Limits = Host.RingSettings.ReadLimits(c, Root, int.MaxValue),
        };
    }
}
