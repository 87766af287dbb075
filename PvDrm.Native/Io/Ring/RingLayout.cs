namespace PvDrm.Native.Io.Ring;

/// <summary>
/// Byte offsets of a ring's header page (PROTOCOL.md, Shared-memory ring). Each index and flag
/// sits on its own 64-byte cache line, so the two sides never write the same line.
/// Indexes are free-running u32 counters; the slot of index i is i &amp; (slots - 1).
/// </summary>
public static class RingLayout
{
    /// <summary>"PVRG" little-endian.</summary>
    public const uint Magic = 0x47525650;
    public const uint Version = 1;
    public const int HeaderSize = 4096;

    public const int MagicOffset = 0;
    public const int VersionOffset = 4;
    public const int SlotSizeOffset = 8;
    public const int RequestSlotsOffset = 12;
    public const int ReplySlotsOffset = 16;

    /// <summary>Requests written so far (the guest writes it).</summary>
    public const int RequestTailOffset = 64;
    /// <summary>Requests taken so far (the host writes it).</summary>
    public const int RequestHeadOffset = 128;
    /// <summary>1 while the host waits for the request doorbell (set by the host, cleared by whoever rings).</summary>
    public const int HostSleepingOffset = 192;
    /// <summary>Replies written so far (the host writes it).</summary>
    public const int ReplyTailOffset = 256;
    /// <summary>Replies taken so far (the guest writes it).</summary>
    public const int ReplyHeadOffset = 320;
    /// <summary>1 while the guest waits for the reply doorbell.</summary>
    public const int GuestSleepingOffset = 384;
    /// <summary>The reply doorbell: a futex word the host increments before waking the guest.</summary>
    public const int ReplyBellOffset = 448;
}
