using PvDrm.Native.Interop;

namespace PvDrm.Protocol;

/// <summary>
/// A reply or event as a guest receives it, copied out of the receive buffer: header, status
/// (0 or -errno), payload, message, and the descriptor that came with it (GEM_MAP).
/// </summary>
public sealed class ReplyFrame
{
    /// <summary>A reply or event as parsed (or as made up for a request the connection never carried).</summary>
    public ReplyFrame(FrameHeader header, int status, byte[] payload, string? message, FileDescriptor? fd)
    {
        Header = header;
        Status = status;
        Payload = payload;
        Message = message;
        Fd = fd;
    }

    /// <summary>The frame's header: op, flags, request id, context.</summary>
    public FrameHeader Header { get; }

    /// <summary>0, or a negative errno.</summary>
    public int Status { get; }

    /// <summary>The op's reply payload (empty on failure).</summary>
    public byte[] Payload { get; }

    /// <summary>The host's message, for failures: it names the limit or cause.</summary>
    public string? Message { get; }

    /// <summary>The descriptor passed with the reply; whoever takes it owns it.</summary>
    public FileDescriptor? Fd { get; private set; }

    /// <summary>An unsolicited event (RECLAIM, SHUTDOWN), not a reply.</summary>
    public bool IsEvent => (Header.Flags & FrameFlags.Event) != 0;

    /// <summary>Takes the descriptor that came with the reply (null if none or taken); the caller owns it.</summary>
    public FileDescriptor? TakeFd()
    {
        var fd = Fd;
        Fd = null;
        return fd;
    }

    /// <inheritdoc />
    public T Read<T>() where T : IReplyPayload<T>
    {
        var reader = new WireReader(Payload);
        return T.Read(ref reader);
    }

    /// <summary>
    /// Parses a reply or event frame. Returns null and a reason when the frame is not a valid
    /// reply (the connection is then broken).
    /// </summary>
    public static ReplyFrame? Parse(ReadOnlySpan<byte> frame, FileDescriptor? fd, out string? error)
    {
        error = null;
        if (frame.Length < FrameEncoder.ReplyPrefix)
        {
            error = $"reply of {frame.Length} bytes is shorter than the {FrameEncoder.ReplyPrefix}-byte minimum";
            return null;
        }
        var header = FrameHeader.Read(frame);
        if (header.Length != (uint)frame.Length || (header.Flags & (FrameFlags.Reply | FrameFlags.Event)) == 0)
        {
            error = $"malformed reply header ({header})";
            return null;
        }
        var r = new WireReader(frame[FrameHeader.Size..]);
        int status = r.I32();
        uint messageLength = r.U32();
        if (messageLength > (uint)r.Remaining)
        {
            error = $"reply message length {messageLength} exceeds the {r.Remaining} bytes left";
            return null;
        }
        var payload = r.Bytes(r.Remaining - (int)messageLength).ToArray();
        string? message = messageLength > 0 ? r.Utf8((int)messageLength) ?? "(message not valid UTF-8)" : null;
        return new ReplyFrame(header, status, payload, message, fd);
    }
}
