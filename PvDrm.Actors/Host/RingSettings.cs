using PvDrm.Native.Io.Ring;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>pvdrm.host.ring</c>: whether local guests may move their frames through a shared-memory
/// ring (RING_ATTACH, PROTOCOL.md), and how large a ring the host maps for one.
/// </summary>
public sealed record RingSettings
{
    public const string Root = HostSettings.Root + ".ring";

    /// <summary>Off: HELLO does not offer the ring and RING_ATTACH is refused (EOPNOTSUPP).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>What a guest's ring may be; the keys are named in refusals.</summary>
    public RingLimits Limits { get; init; } = new()
    {
        MaxBytes = 16 << 20,
        MaxSlotSize = 256 * 1024,
        MaxSlots = 256,
        BytesKey = $"{Root}.max-bytes",
        SlotSizeKey = $"{Root}.max-slot-size",
        SlotsKey = $"{Root}.max-slots",
    };

    /// <summary>The top of max-slot-size's own range (that of limits.max-frame).</summary>
    private const long MaxSlotSizeLimit = 64 << 20;

    internal static RingSettings Create(SettingsReader c, int maxFrame) => new()
    {
        Enabled = c.Bool("enabled"),
        Limits = new RingSettings().Limits with
        {
            MaxBytes = (ulong)c.Bytes("max-bytes", 8192, 1L << 30),
            // Read against its own range, then held to the frame limit: a lower limits.max-frame
            // lowers the slots too, rather than making the default an error.
            MaxSlotSize = (int)Math.Min(c.Bytes("max-slot-size", RingShape.MinSlotSize, MaxSlotSizeLimit), maxFrame),
            MaxSlots = c.Int("max-slots", 1, 1 << 16),
        },
    };
}
