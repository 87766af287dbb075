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
    public RingLimits Limits { get; init; } = DefaultLimits(Root);

    /// <summary>The top of max-slot-size's own range (that of limits.max-frame).</summary>
    private const long MaxSlotSizeLimit = 64 << 20;

    internal static RingSettings Create(SettingsReader c, int maxFrame) => new()
    {
        Enabled = c.Bool("enabled"),
        // Held to the frame limit: a lower limits.max-frame lowers the slots too, rather than making the default an error.
        Limits = ReadLimits(c, Root, maxFrame),
    };

    /// <summary>The limits of a ring a server maps for one peer (the host's guests, the proxy's applications), their keys under <paramref name="root"/>.</summary>
    internal static RingLimits DefaultLimits(string root) => new()
    {
        MaxBytes = 16 << 20,
        MaxSlotSize = 256 * 1024,
        MaxSlots = 256,
        BytesKey = $"{root}.max-bytes",
        SlotSizeKey = $"{root}.max-slot-size",
        SlotsKey = $"{root}.max-slots",
    };

    /// <summary>max-bytes, max-slot-size (read against its own range, then held to <paramref name="heldTo"/>) and max-slots from <paramref name="c"/>.</summary>
    internal static RingLimits ReadLimits(SettingsReader c, string root, int heldTo) => DefaultLimits(root) with
    {
        MaxBytes = (ulong)c.Bytes("max-bytes", 8192, 1L << 30),
        MaxSlotSize = (int)Math.Min(c.Bytes("max-slot-size", RingShape.MinSlotSize, MaxSlotSizeLimit), heldTo),
        MaxSlots = c.Int("max-slots", 1, 1 << 16),
    };
}
