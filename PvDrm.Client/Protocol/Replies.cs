using System.Text;
using PvDrm.Native.Gpu;

namespace PvDrm.Protocol;

/// <summary>
/// A reply payload with a fixed layout. A reply body is <c>{i32 status, u32 message_length}</c>,
/// then the payload (on success), then the UTF-8 message.
/// </summary>
public interface IReplyPayload<TSelf> where TSelf : IReplyPayload<TSelf>
{
    /// <summary>Bytes of the payload on the wire.</summary>
    int Size { get; }

    /// <summary>Writes the payload.</summary>
    void Write(ref WireWriter w);

    /// <summary>Reads the payload.</summary>
    static abstract TSelf Read(ref WireReader r);
}

/// <summary>The payloads of successful replies, by operation.</summary>
public static class Replies
{
    /// <summary>HELLO: u32 version, u32 capabilities, u32 max_frame (negotiated), u32 reserved, u64 session id.</summary>
    public readonly record struct Hello(uint Version, uint Capabilities, uint MaxFrame, ulong SessionId) : IReplyPayload<Hello>
    {
        /// <inheritdoc />
        public int Size => 24;

        /// <inheritdoc />
        public void Write(ref WireWriter w)
        {
            w.U32(Version);
            w.U32(Capabilities);
            w.U32(MaxFrame);
            w.U32(0);
            w.U64(SessionId);
        }

        /// <inheritdoc />
        public static Hello Read(ref WireReader r)
        {
            uint version = r.U32(), caps = r.U32(), maxFrame = r.U32();
            r.Skip(4);
            return new Hello(version, caps, maxFrame, r.U64());
        }
    }

    /// <summary>GET_VERSION: i32 major, minor, patch; u16 name_len, date_len, desc_len, reserved; the strings.</summary>
    public sealed record Version(int Major, int Minor, int Patch, string Name, string Date, string Description) : IReplyPayload<Version>
    {
        /// <inheritdoc />
        public int Size => 20 + Encoding.UTF8.GetByteCount(Name) + Encoding.UTF8.GetByteCount(Date) + Encoding.UTF8.GetByteCount(Description);

        /// <summary>The GET_VERSION payload describing <paramref name="info"/>.</summary>
        public static Version From(DeviceInfo info) => new(info.Major, info.Minor, info.Patch, info.Driver, info.Date, info.Description);

        /// <inheritdoc />
        public void Write(ref WireWriter w)
        {
            w.I32(Major);
            w.I32(Minor);
            w.I32(Patch);
            w.U16((ushort)Encoding.UTF8.GetByteCount(Name));
            w.U16((ushort)Encoding.UTF8.GetByteCount(Date));
            w.U16((ushort)Encoding.UTF8.GetByteCount(Description));
            w.U16(0);
            w.Utf8(Name);
            w.Utf8(Date);
            w.Utf8(Description);
        }

        /// <inheritdoc />
        public static Version Read(ref WireReader r)
        {
            int major = r.I32(), minor = r.I32(), patch = r.I32();
            int nameLength = r.U16(), dateLength = r.U16(), descLength = r.U16();
            r.Skip(2);
            if (nameLength + dateLength + descLength > r.Remaining) return new Version(major, minor, patch, "", "", "");
            return new Version(major, minor, patch,
                r.Utf8(nameLength) ?? "", r.Utf8(dateLength) ?? "", r.Utf8(descLength) ?? "");
        }
    }

    /// <summary>GET_PARAM, GET_CAP: u64 value.</summary>
    public readonly record struct Value(ulong Data) : IReplyPayload<Value>
    {
        /// <inheritdoc />
        public int Size => 8;
        /// <inheritdoc />
        public void Write(ref WireWriter w) => w.U64(Data);
        /// <inheritdoc />
        public static Value Read(ref WireReader r) => new(r.U64());
    }

    /// <summary>GEM_NEW, GEM_INFO: u32 handle, u32 domain, u64 size, u64 map_offset.</summary>
    public readonly record struct GemInfo(uint Handle, GemDomain Domain, ulong Size, ulong MapOffset) : IReplyPayload<GemInfo>
    {
        int IReplyPayload<GemInfo>.Size => 24;

        /// <inheritdoc />
        public void Write(ref WireWriter w)
        {
            w.U32(Handle);
            w.U32((uint)Domain);
            w.U64(Size);
            w.U64(MapOffset);
        }

        /// <inheritdoc />
        public static GemInfo Read(ref WireReader r) => new(r.U32(), (GemDomain)r.U32(), r.U64(), r.U64());
    }

    /// <summary>
    /// GEM_MAP: u64 size, u64 map_offset, u64 region_offset; the buffer's fd travels with the
    /// frame, or, for a buffer in the guest's shared region, no fd and its offset there
    /// (<see cref="NoRegion"/> otherwise). A 16-byte reply (before the field) reads as NoRegion.
    /// </summary>
    public readonly record struct GemMap(ulong Size, ulong MapOffset, ulong RegionOffset = GemMap.NoRegion) : IReplyPayload<GemMap>
    {
        /// <summary>region_offset of a buffer that is not in a shared region.</summary>
        public const ulong NoRegion = ulong.MaxValue;

        int IReplyPayload<GemMap>.Size => 24;

        /// <inheritdoc />
        public void Write(ref WireWriter w)
        {
            w.U64(Size);
            w.U64(MapOffset);
            w.U64(RegionOffset);
        }

        /// <inheritdoc />
        public static GemMap Read(ref WireReader r) => new(r.U64(), r.U64(), r.Remaining >= 8 ? r.U64() : NoRegion);
    }

    /// <summary>GEM_EXPORT: u32 name, u32 reserved.</summary>
    public readonly record struct Name(uint Number) : IReplyPayload<Name>
    {
        /// <inheritdoc />
        public int Size => 8;

        /// <inheritdoc />
        public void Write(ref WireWriter w)
        {
            w.U32(Number);
            w.U32(0);
        }

        /// <inheritdoc />
        public static Name Read(ref WireReader r) => new(r.U32());
    }

    /// <summary>RECLAIM event: u64 bytes the host would like the guest to free (its cached buffers first).</summary>
    public readonly record struct Reclaim(ulong Bytes) : IReplyPayload<Reclaim>
    {
        /// <inheritdoc />
        public int Size => 8;
        /// <inheritdoc />
        public void Write(ref WireWriter w) => w.U64(Bytes);
        /// <inheritdoc />
        public static Reclaim Read(ref WireReader r) => new(r.U64());
    }

    /// <summary>PUSHBUF: u64 fence (the context's fence number for this submission).</summary>
    public readonly record struct Fence(ulong Number) : IReplyPayload<Fence>
    {
        /// <inheritdoc />
        public int Size => 8;
        /// <inheritdoc />
        public void Write(ref WireWriter w) => w.U64(Number);
        /// <inheritdoc />
        public static Fence Read(ref WireReader r) => new(r.U64());
    }
}
