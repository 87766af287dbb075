using PvDrm.Native.Interop;

namespace PvDrm.Native.Io.Ring;

/// <summary>
/// The geometry of a shared ring: how large each slot is and how many slots each direction has.
/// The guest chooses it when it creates the ring; the host reads it once, checks it against its
/// own limits, and from then on uses only its copy (PROTOCOL.md, Shared-memory ring).
/// </summary>
public readonly record struct RingShape(int SlotSize, int RequestSlots, int ReplySlots)
{
    /// <summary>A slot holds at least a reply with a full error message (24 + 1024 bytes).</summary>
    public const int MinSlotSize = 2048;

    /// <summary>Bytes of the memfd: the header page, then the request slots, then the reply slots.</summary>
    public ulong Bytes => RingLayout.HeaderSize + ((ulong)RequestSlots + (ulong)ReplySlots) * (ulong)SlotSize;

    /// <summary>Where the request slots start.</summary>
    public ulong RequestSlotsOffset => RingLayout.HeaderSize;

    /// <summary>Where the reply slots start.</summary>
    public ulong ReplySlotsOffset => RingLayout.HeaderSize + (ulong)RequestSlots * (ulong)SlotSize;

    /// <summary>
    /// Null when the shape is well formed and within the limits, else why not. Slot sizes and
    /// counts are powers of two so an index maps to its slot with a mask.
    /// </summary>
    public string? Check(RingLimits limits)
    {
        if (!IsPowerOfTwo(SlotSize) || SlotSize < MinSlotSize || SlotSize > limits.MaxSlotSize)
            return $"slot size {SlotSize} is not a power of two between {MinSlotSize} and {limits.MaxSlotSize} ({limits.SlotSizeKey})";
        if (!IsPowerOfTwo(RequestSlots) || !IsPowerOfTwo(ReplySlots) || RequestSlots > limits.MaxSlots || ReplySlots > limits.MaxSlots)
            return $"slot counts {RequestSlots}/{ReplySlots} are not powers of two of at most {limits.MaxSlots} ({limits.SlotsKey})";
        if (Bytes > limits.MaxBytes)
            return $"a ring of {Bytes} bytes exceeds the {limits.MaxBytes} allowed ({limits.BytesKey})";
        return null;
    }

    /// <summary>Throws EINVAL (with <see cref="Check"/>'s reason) unless the shape is acceptable.</summary>
    public void Validate(RingLimits limits)
    {
        if (Check(limits) is { } why) ErrnoException.Throw(Errno.EINVAL, $"ring refused: {why}");
    }

    private static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;
}
