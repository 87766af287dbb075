using System.Buffers.Binary;
using System.Text;
using PvDrm.Protocol;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Guest.Shim;

/// <summary>What a shim asks: an ioctl on its DRM file, or the descriptor behind an mmap offset.</summary>
internal enum ShimKind : ushort
{
    Ioctl = 1,
    Map = 2,
}

/// <summary>
/// One call from the preload shim (libpvdrm_shim.so), copied out of the socket. Layout, all
/// little-endian: <c>u32 length, u16 kind, u16 version (1), u32 request (the ioctl number),
/// u32 arg_size, u32 blob_count, u32 blob_size[blob_count], arg, blobs</c>. Blobs are the arrays a
/// pointer in the argument names (PUSHBUF's buffers, relocs and push entries), since the proxy
/// cannot read the program's memory.
/// </summary>
internal sealed record ShimRequest(ShimKind Kind, uint Number, byte[] Arg, byte[][] Blobs)
{
    public const ushort Version = 1;
    public const int HeaderSize = 20;
    public const int MaxBlobs = 3;

    /// <summary>The largest argument an ioctl number can describe (_IOC_SIZE has 14 bits).</summary>
    public const int MaxArg = (1 << 14) - 1;

    /// <summary>Parses a frame; null with a reason when it breaks the framing (the connection then ends).</summary>
    public static ShimRequest? Parse(ReadOnlySpan<byte> frame, out string? error)
    {
        error = null;
        if (frame.Length < HeaderSize)
            return Broken(out error, $"a shim frame of {frame.Length} bytes is shorter than its {HeaderSize}-byte header");
        var r = new WireReader(frame);
        uint length = r.U32();
        var kind = (ShimKind)r.U16();
        ushort version = r.U16();
        uint number = r.U32(), argSize = r.U32(), blobCount = r.U32();
        if (length != (uint)frame.Length) return Broken(out error, $"length field {length} but the frame has {frame.Length} bytes");
        if (version != Version) return Broken(out error, $"shim framing version {version}; this proxy speaks {Version}");
        if (kind is not (ShimKind.Ioctl or ShimKind.Map)) return Broken(out error, $"unknown shim call kind {(ushort)kind}");
        if (blobCount > MaxBlobs) return Broken(out error, $"{blobCount} blobs (at most {MaxBlobs})");
        if (argSize > MaxArg) return Broken(out error, $"argument of {argSize} bytes (at most {MaxArg})");
        if (r.Remaining < 4 * (int)blobCount) return Broken(out error, "blob sizes cut off");
        var sizes = new uint[blobCount];
        long total = HeaderSize + 4L * blobCount + argSize;
        for (int i = 0; i < sizes.Length; i++) total += sizes[i] = r.U32();
        if (total != frame.Length) return Broken(out error, $"the parts add up to {total} bytes but the frame has {frame.Length}");
        byte[] arg = r.Bytes((int)argSize).ToArray();
        var blobs = new byte[blobCount][];
        for (int i = 0; i < blobs.Length; i++) blobs[i] = r.Bytes((int)sizes[i]).ToArray();
        return new ShimRequest(kind, number, arg, blobs);
    }

    private static ShimRequest? Broken(out string? error, string reason)
    {
        error = reason;
        return null;
    }
}

/// <summary>
/// The proxy's answer to one <see cref="ShimRequest"/>: <c>u32 length, i32 status (0 or -errno),
/// u32 arg_size, u16 blob_count, u16 message_length, u32 blob_size[blob_count], arg, blobs,
/// message</c>, with at most one descriptor (a GEM buffer's memfd or dma-buf).
/// </summary>
internal sealed record ShimReply(int Status, byte[] Arg, byte[][] Blobs, string? Message, FileDescriptor? Fd = null)
{
    public const int MaxMessage = 1024;

    public static ShimReply Ok(byte[] arg, FileDescriptor? fd = null) => new(0, arg, [], null, fd);

    public static ShimReply Fail(int errno, string message) => new(-Math.Abs(errno), [], [], message);

    public byte[] Encode()
    {
        byte[] message = Encoding.UTF8.GetBytes(Message ?? "");
        if (message.Length > MaxMessage) message = message[..MaxMessage];
        int length = 16 + 4 * Blobs.Length + Arg.Length + Blobs.Sum(b => b.Length) + message.Length;
        var frame = new byte[length];
        var w = new WireWriter(frame);
        w.U32((uint)length);
        w.I32(Status);
        w.U32((uint)Arg.Length);
        w.U16((ushort)Blobs.Length);
        w.U16((ushort)message.Length);
        foreach (var b in Blobs) w.U32((uint)b.Length);
        w.Bytes(Arg);
        foreach (var b in Blobs) w.Bytes(b);
        w.Bytes(message);
        return frame;
    }

    /// <summary>The status as the shim will see it, for logs and tests.</summary>
    public override string ToString() =>
        Status == 0 ? $"ok ({Arg.Length} bytes)" : $"{Errno.Name(-Status)}: {Message}";

    internal static uint ReadU32(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b[offset..]);
}
