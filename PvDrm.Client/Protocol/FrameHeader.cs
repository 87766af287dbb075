using System.Buffers.Binary;

namespace PvDrm.Protocol;

/// <summary>
/// The 16-byte little-endian header of every frame:
/// <c>{u32 length, u16 op, u16 flags, u32 request_id, u32 context}</c>; length counts the header.
/// </summary>
public readonly record struct FrameHeader(uint Length, Op Op, FrameFlags Flags, uint RequestId, uint Context)
{
    /// <summary>Bytes of the header on the wire.</summary>
    public const int Size = 16;

    /// <inheritdoc />
    public static FrameHeader Read(ReadOnlySpan<byte> frame) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(frame),
        (Op)BinaryPrimitives.ReadUInt16LittleEndian(frame[4..]),
        (FrameFlags)BinaryPrimitives.ReadUInt16LittleEndian(frame[6..]),
        BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(frame[12..]));

    /// <inheritdoc />
    public void Write(Span<byte> frame)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, Length);
        BinaryPrimitives.WriteUInt16LittleEndian(frame[4..], (ushort)Op);
        BinaryPrimitives.WriteUInt16LittleEndian(frame[6..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[8..], RequestId);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[12..], Context);
    }
}
