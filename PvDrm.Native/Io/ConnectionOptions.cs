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

    /// <summary>
    /// Until <see cref="Connection.Admitted"/>: the largest frame accepted and the most bytes that
    /// may wait to be sent. A peer that has not said who it is gets only room for HELLO and its
    /// answer. Null: no such phase (clients, and servers that admit everyone).
    /// </summary>
    public int? UnadmittedMaxFrame { get; init; }

    /// <summary>Frames read per wake-up (from the socket, or from its ring) before other connections on the loop get their turn.</summary>
    public int FramesPerWake { get; init; } = 64;
}
