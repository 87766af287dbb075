using System.Text;

namespace PvDrm.Protocol;

/// <summary>Builds frames: requests (guest side), replies and events (host side).</summary>
public static class FrameEncoder
{
    /// <summary>Header plus <c>{i32 status, u32 message_length}</c>.</summary>
    public const int ReplyPrefix = FrameHeader.Size + 8;

    /// <summary>Replies carry at most this much message; longer ones are cut at a character boundary.</summary>
    public const int MaxMessageBytes = 1024;

    /// <summary>Bytes of <paramref name="request"/>'s frame.</summary>
    public static int RequestSize(Request request) => FrameHeader.Size + request.BodySize;

    /// <summary>Writes <paramref name="request"/> into <paramref name="destination"/>; returns the frame length.</summary>
    public static int WriteRequest(Request request, Span<byte> destination)
    {
        var header = request.Header;
        header.Write(destination);
        var writer = new WireWriter(destination[FrameHeader.Size..(int)header.Length]);
        request.WriteBody(ref writer);
        return (int)header.Length;
    }

    /// <summary>Writes <paramref name="request"/> with another request id and flags (clients and the proxy number their own).</summary>
    public static int WriteRequest(Request request, Span<byte> destination, uint requestId, FrameFlags flags)
    {
        var header = request.Header with { RequestId = requestId, Flags = flags };
        header.Write(destination);
        var writer = new WireWriter(destination[FrameHeader.Size..(int)header.Length]);
        request.WriteBody(ref writer);
        return (int)header.Length;
    }

    /// <summary><paramref name="request"/>'s frame, with its own id and flags.</summary>
    public static byte[] EncodeRequest(Request request)
    {
        var frame = new byte[RequestSize(request)];
        WriteRequest(request, frame);
        return frame;
    }

    /// <summary>The frame size of a reply with <paramref name="payloadSize"/> payload bytes and <paramref name="message"/>.</summary>
    public static int ReplySize(int payloadSize, string? message) => ReplyPrefix + payloadSize + MessageBytes(message);

    /// <summary>
    /// Writes a reply to the request with <paramref name="requestId"/>: <paramref name="status"/> is 0
    /// or a negative errno. Returns the frame length.
    /// </summary>
    public static int WriteReply(Span<byte> destination, Op op, uint requestId, uint context, int status,
        ReadOnlySpan<byte> payload, string? message, FrameFlags flags = FrameFlags.Reply)
    {
        int messageBytes = MessageBytes(message);
        int length = ReplyPrefix + payload.Length + messageBytes;
        new FrameHeader((uint)length, op, flags, requestId, context).Write(destination);
        var w = new WireWriter(destination[FrameHeader.Size..length]);
        w.I32(status);
        w.U32((uint)messageBytes);
        w.Bytes(payload);
        if (messageBytes > 0) WriteMessage(ref w, message!, messageBytes);
        return length;
    }

    /// <summary>A successful reply with a fixed-layout payload, into <paramref name="destination"/>.</summary>
    public static int WriteReply<T>(Span<byte> destination, Op op, uint requestId, uint context, in T payload)
        where T : IReplyPayload<T>
    {
        int length = ReplyPrefix + payload.Size;
        new FrameHeader((uint)length, op, FrameFlags.Reply, requestId, context).Write(destination);
        var w = new WireWriter(destination[FrameHeader.Size..length]);
        w.I32(0);
        w.U32(0);
        payload.Write(ref w);
        return length;
    }

    /// <summary>An unsolicited host event (request id 0) carrying a message, e.g. SHUTDOWN.</summary>
    public static byte[] EncodeEvent(Op op, uint context, int status, string message)
    {
        var frame = new byte[ReplySize(0, message)];
        WriteReply(frame, op, 0, context, status, default, message, FrameFlags.Event);
        return frame;
    }

    private static int MessageBytes(string? message)
    {
        if (string.IsNullOrEmpty(message)) return 0;
        int bytes = Encoding.UTF8.GetByteCount(message);
        return bytes <= MaxMessageBytes ? bytes : Truncated(message).Bytes;
    }

    private static void WriteMessage(ref WireWriter w, string message, int messageBytes)
    {
        if (messageBytes == Encoding.UTF8.GetByteCount(message)) w.Utf8(message);
        else w.Utf8(message[..Truncated(message).Chars]);
    }

    /// <summary>The longest prefix of whole characters that fits <see cref="MaxMessageBytes"/>.</summary>
    private static (int Chars, int Bytes) Truncated(string message)
    {
        int chars = 0, bytes = 0;
        foreach (var rune in message.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > MaxMessageBytes) break;
            bytes += rune.Utf8SequenceLength;
            chars += rune.Utf16SequenceLength;
        }
        return (chars, bytes);
    }
}
