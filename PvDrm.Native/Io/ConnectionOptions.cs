namespace PvDrm.Native.Io;

/// <summary>Limits of one connection.</summary>
public sealed record ConnectionOptions
{
    /// <summary>The largest frame accepted or sent. Larger incoming frames end the connection.</summary>
    public int MaxFrame { get; init; } = 256 * 1024;

    /// <summary>
    /// Bytes that may wait for a peer that does not read. Past this the peer is treated as
    /// broken and disconnected, instead of letting it grow our memory.
    /// </summary>
    public long MaxPendingSendBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Frames read per wake-up before other connections on the loop get their turn.</summary>
    public int FramesPerWake { get; init; } = 64;
}
