namespace PvDrm.Native.Io.Ring;

/// <summary>
/// What one side accepts of a ring the peer created (the host's <c>pvdrm.host.ring</c> limits).
/// The keys name the settings in refusals, so a guest learns which limit it met.
/// </summary>
public sealed record RingLimits
{
    public int MaxSlotSize { get; init; } = 256 * 1024;
    public int MaxSlots { get; init; } = 256;
    public ulong MaxBytes { get; init; } = 16 << 20;

    public string SlotSizeKey { get; init; } = "max-slot-size";
    public string SlotsKey { get; init; } = "max-slots";
    public string BytesKey { get; init; } = "max-bytes";
}
