using System.Buffers.Binary;

namespace PvDrm.Benchmarks.Peers;

/// <summary>
/// The raw baseline's frames, sized exactly like GET_PARAM's: a 24-byte request (16-byte header +
/// u64 param) and a 32-byte reply (header, status, message length, u64 value). Same header
/// layout as the protocol, so both paths move the same bytes.
/// </summary>
public static class EchoFrames
{
    public const int RequestSize = 24;
    public const int ReplySize = 32;
    private const ushort Op = 0x0011, ReplyFlag = 0x1;

    public static void WriteRequest(Span<byte> frame, uint id, ulong param)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, RequestSize);
        BinaryPrimitives.WriteUInt16LittleEndian(frame[4..], Op);
        BinaryPrimitives.WriteUInt16LittleEndian(frame[6..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[8..], id);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[12..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(frame[16..], param);
    }

    /// <summary>The reply to <paramref name="request"/>: same op, id and context, status 0, a u64 value.</summary>
    public static void WriteReply(ReadOnlySpan<byte> request, Span<byte> reply, ulong value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(reply, ReplySize);
        BinaryPrimitives.WriteUInt16LittleEndian(reply[4..], Op);
        BinaryPrimitives.WriteUInt16LittleEndian(reply[6..], ReplyFlag);
        request.Slice(8, 8).CopyTo(reply[8..]); // request id and context
        BinaryPrimitives.WriteInt32LittleEndian(reply[16..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(reply[20..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(reply[24..], value);
    }

    public static uint RequestId(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]);
}
