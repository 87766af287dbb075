using PvDrm.Native.Gpu;

namespace PvDrm.Protocol;

/// <summary>GEM objects inside a context: create, inspect, close, map, copy, CPU access.</summary>
public static partial class Requests
{
    // ---- GEM objects --------------------------------------------------------------------

    /// <summary>Body: u32 handle (guest-chosen), u32 domain, u64 size, u32 flags, u32 reserved.</summary>
    public sealed record GemNew(uint Handle, GemDomain Domain, ulong Size, uint GemFlags) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GemNew;
        /// <inheritdoc />
        public override int BodySize => 24;

        /// <inheritdoc />
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
        /// <inheritdoc />
        public override Op Op => Op.GemInfo;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Body: u32 handle, u32 reserved.</summary>
    public sealed record GemClose(uint Handle) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GemClose;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Body: u32 handle, u32 reserved. The reply carries the buffer's fd (Unix transports only).</summary>
    public sealed record GemMap(uint Handle) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GemMap;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Body: u32 handle, u32 length, u64 offset. The reply's payload is the bytes.</summary>
    public sealed record GemRead(uint Handle, ulong Offset, uint Length) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GemRead;
        /// <inheritdoc />
        public override int BodySize => 16;

        /// <inheritdoc />
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
        /// <inheritdoc />
        public override Op Op => Op.GemWrite;
        /// <inheritdoc />
        public override int BodySize => 16 + Data.Length;

        /// <inheritdoc />
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
        /// <inheritdoc />
        public override Op Op => Op.CpuPrep;
        /// <inheritdoc />
        public override int BodySize => 16;

        /// <inheritdoc />
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
        /// <inheritdoc />
        public override Op Op => Op.CpuFini;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }
}
