namespace PvDrm.Protocol;

/// <summary>Bits of the header's flags field.</summary>
[Flags]
public enum FrameFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Host to guest: the answer to the request with the same id.</summary>
    Reply = 0x1,

    /// <summary>
    /// Guest to host: answer only on failure, so guests can batch requests without waiting.
    /// Honoured for operations inside a context; other operations are always answered.
    /// </summary>
    NoReply = 0x2,

    /// <summary>Host to guest: an unsolicited notification (request id 0).</summary>
    Event = 0x4,

    /// <summary>Every defined bit; any other is a protocol error.</summary>
    All = Reply | NoReply | Event,
}
