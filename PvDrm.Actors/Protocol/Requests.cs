using System.Text;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Protocol;

/// <summary>
/// Every request a guest can send, grouped as in PROTOCOL.md. Each type's body layout is the
/// order of its writes; <see cref="OpTable"/> holds the matching readers and their checks.
/// </summary>
public static class Requests
{
    // ---- session ------------------------------------------------------------------------

    /// <summary>Body: u32 version, u32 capabilities, u32 max_frame, u16 name_len, u16 token_len, name, token.</summary>
    public sealed record Hello(uint Version, uint Capabilities, uint MaxFrame, string Name, string Token) : Request
    {
        public override Op Op => Op.Hello;
        public override int BodySize => 16 + Encoding.UTF8.GetByteCount(Name) + Encoding.UTF8.GetByteCount(Token);

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Version);
            w.U32(Capabilities);
            w.U32(MaxFrame);
            w.U16((ushort)Encoding.UTF8.GetByteCount(Name));
            w.U16((ushort)Encoding.UTF8.GetByteCount(Token));
            w.Utf8(Name);
            w.Utf8(Token);
        }

        // Never print the token.
        protected override bool PrintMembers(StringBuilder b)
        {
            b.Append($"RequestId = {RequestId}, Version = {Version}, Name = {Name}");
            return true;
        }
    }

    /// <summary>Offers a shared-memory ring; its memfd travels with the frame. Body: u32 flags (0), u32 reserved.</summary>
    public sealed record RingAttach(uint RingFlags) : Request
    {
        public override Op Op => Op.RingAttach;
        public override int BodySize => 8;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(RingFlags);
            w.U32(0);
        }
    }

    /// <summary>Opens the context named in the header (guest-chosen, non-zero). Body: u32 flags, u32 reserved.</summary>
    public sealed record OpenContext(uint ContextFlags) : Request
    {
        public override Op Op => Op.OpenContext;
        public override int BodySize => 8;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(ContextFlags);
            w.U32(0);
        }
    }

    /// <summary>Closes the header's context and everything in it. Empty body.</summary>
    public sealed record CloseContext : Request
    {
        public override Op Op => Op.CloseContext;
        public override int BodySize => 0;
        public override void WriteBody(ref WireWriter w) { }
    }

    // ---- device -------------------------------------------------------------------------

    /// <summary>DRM_IOCTL_VERSION. Empty body.</summary>
    public sealed record GetVersion : Request
    {
        public override Op Op => Op.GetVersion;
        public override int BodySize => 0;
        public override void WriteBody(ref WireWriter w) { }
    }

    /// <summary>Body: u64 param (nouveau GETPARAM numbering).</summary>
    public sealed record GetParam(ulong Param) : Request
    {
        public override Op Op => Op.GetParam;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => w.U64(Param);
    }

    /// <summary>Body: u64 capability (DRM_CAP_* numbering).</summary>
    public sealed record GetCap(ulong Cap) : Request
    {
        public override Op Op => Op.GetCap;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => w.U64(Cap);
    }

    // ---- GEM objects --------------------------------------------------------------------

    /// <summary>Body: u32 handle (guest-chosen), u32 domain, u64 size, u32 flags, u32 reserved.</summary>
    public sealed record GemNew(uint Handle, GemDomain Domain, ulong Size, uint GemFlags) : Request
    {
        public override Op Op => Op.GemNew;
        public override int BodySize => 24;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Handle);
            w.U32((uint)Domain);
            w.U64(Size);
            w.U32(GemFlags);
            w.U32(0);
        }
    }

    /// <summary>Body: u32 handle, u32 reserved.</summary>
    public sealed record GemInfo(uint Handle) : Request
    {
        public override Op Op => Op.GemInfo;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Body: u32 handle, u32 reserved.</summary>
    public sealed record GemClose(uint Handle) : Request
    {
        public override Op Op => Op.GemClose;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Body: u32 handle, u32 reserved. The reply carries the buffer's fd (Unix transports only).</summary>
    public sealed record GemMap(uint Handle) : Request
    {
        public override Op Op => Op.GemMap;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Body: u32 handle, u32 length, u64 offset. The reply's payload is the bytes.</summary>
    public sealed record GemRead(uint Handle, ulong Offset, uint Length) : Request
    {
        public override Op Op => Op.GemRead;
        public override int BodySize => 16;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Handle);
            w.U32(Length);
            w.U64(Offset);
        }
    }

    /// <summary>Body: u32 handle, u32 length, u64 offset, then length bytes.</summary>
    public sealed record GemWrite(uint Handle, ulong Offset, ReadOnlyMemory<byte> Data) : Request
    {
        public override Op Op => Op.GemWrite;
        public override int BodySize => 16 + Data.Length;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Handle);
            w.U32((uint)Data.Length);
            w.U64(Offset);
            w.Bytes(Data.Span);
        }
    }

    /// <summary>Body: u32 handle, u32 flags (NOWAIT=1, WRITE=4), u64 timeout_ns (0: the host's request timeout).</summary>
    public sealed record CpuPrep(uint Handle, CpuPrepFlags PrepFlags, ulong TimeoutNs) : Request
    {
        public override Op Op => Op.CpuPrep;
        public override int BodySize => 16;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Handle);
            w.U32((uint)PrepFlags);
            w.U64(TimeoutNs);
        }
    }

    /// <summary>Body: u32 handle, u32 reserved.</summary>
    public sealed record CpuFini(uint Handle) : Request
    {
        public override Op Op => Op.CpuFini;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    // ---- sharing ------------------------------------------------------------------------

    /// <summary>Gives the object a global name (PVDRM's global handles, DRM's flink). Body: u32 handle, u32 flags (0). Reply: u32 name, u32 reserved.</summary>
    public sealed record GemExport(uint Handle) : Request
    {
        public override Op Op => Op.GemExport;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>
    /// Opens a global name as a new handle (guest-chosen) in this context. Body: u32 name, u32 handle,
    /// u32 flags (SCRUB=1: zero the buffer first, for a GEM cache handing it to another application),
    /// u32 reserved. Reply: GEM info.
    /// </summary>
    public sealed record GemImport(uint Name, uint Handle, GemImportFlags ImportFlags = GemImportFlags.None) : Request
    {
        public override Op Op => Op.GemImport;
        public override int BodySize => 16;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Name);
            w.U32(Handle);
            w.U32((uint)ImportFlags);
            w.U32(0);
        }
    }

    /// <summary>Exports the object as a descriptor (dma-buf/memfd) to hand to another process. Body: u32 handle, u32 flags (0). Reply: u64 size + the fd.</summary>
    public sealed record PrimeExport(uint Handle) : Request
    {
        public override Op Op => Op.PrimeExport;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Turns the descriptor sent with the request into a new handle (guest-chosen). Body: u32 handle, u32 reserved. Reply: GEM info.</summary>
    public sealed record PrimeImport(uint Handle) : Request
    {
        public override Op Op => Op.PrimeImport;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    // ---- channels -----------------------------------------------------------------------

    /// <summary>Body: u32 channel (guest-chosen, non-zero), u32 flags.</summary>
    public sealed record ChannelAlloc(uint Channel, uint ChannelFlags) : Request
    {
        public override Op Op => Op.ChannelAlloc;
        public override int BodySize => 8;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Channel);
            w.U32(ChannelFlags);
        }
    }

    /// <summary>Body: u32 channel, u32 reserved.</summary>
    public sealed record ChannelFree(uint Channel) : Request
    {
        public override Op Op => Op.ChannelFree;
        public override int BodySize => 8;
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Channel);
    }

    /// <summary>
    /// Body: u32 channel, u32 buffer_count, u32 push_count, u32 inline_length;
    /// buffers[buffer_count] of {u32 handle, u32 access};
    /// push[push_count] of {u32 buffer_index, u32 reserved, u64 offset, u64 length};
    /// inline_length bytes of commands. The reply carries the fence, which is also predictable:
    /// the n-th PUSHBUF of a context gets fence n.
    /// </summary>
    public sealed record Pushbuf(uint Channel, PushbufBuffer[] Buffers, PushEntry[] Push, ReadOnlyMemory<byte> Inline) : Request
    {
        public const int FixedSize = 16, BufferSize = 8, PushSize = 24;

        public override Op Op => Op.Pushbuf;
        public override int BodySize => FixedSize + Buffers.Length * BufferSize + Push.Length * PushSize + Inline.Length;

        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Channel);
            w.U32((uint)Buffers.Length);
            w.U32((uint)Push.Length);
            w.U32((uint)Inline.Length);
            foreach (var b in Buffers)
            {
                w.U32(b.Handle);
                w.U32((uint)b.Access);
            }
            foreach (var p in Push)
            {
                w.U32(p.BufferIndex);
                w.U32(0);
                w.U64(p.Offset);
                w.U64(p.Length);
            }
            w.Bytes(Inline.Span);
        }
    }

    // ---- fences -------------------------------------------------------------------------

    /// <summary>Body: u64 fence, u64 timeout_ns (0: the host's request timeout), u32 flags (NOWAIT=1), u32 reserved.</summary>
    public sealed record FenceWait(ulong Fence, ulong TimeoutNs, FenceWaitFlags WaitFlags) : Request
    {
        public override Op Op => Op.FenceWait;
        public override int BodySize => 24;

        public override void WriteBody(ref WireWriter w)
        {
            w.U64(Fence);
            w.U64(TimeoutNs);
            w.U32((uint)WaitFlags);
            w.U32(0);
        }
    }

    private static void WriteHandle(ref WireWriter w, uint handle)
    {
        w.U32(handle);
        w.U32(0);
    }
}

/// <summary>One entry of a pushbuf's buffer list: a guest handle and how the commands use it.</summary>
public readonly record struct PushbufBuffer(uint Handle, BufferAccess Access);

/// <summary>CPU_PREP flags, numbered as nouveau's NOUVEAU_GEM_CPU_PREP_*.</summary>
[Flags]
public enum CpuPrepFlags : uint
{
    None = 0,
    NoWait = 1,
    Write = 4,
}

[Flags]
public enum GemImportFlags : uint
{
    None = 0,

    /// <summary>Zero the buffer before opening it.</summary>
    Scrub = 1,
}

[Flags]
public enum FenceWaitFlags : uint
{
    None = 0,
    NoWait = 1,
}
