using PvDrm.Native.Gpu;

namespace PvDrm.Protocol;

/// <summary>Channels and the command buffers submitted on them.</summary>
public static partial class Requests
{
    // ---- channels -----------------------------------------------------------------------

    /// <summary>Body: u32 channel (guest-chosen, non-zero), u32 flags.</summary>
    public sealed record ChannelAlloc(uint Channel, uint ChannelFlags) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.ChannelAlloc;
        /// <inheritdoc />
        public override int BodySize => 8;

        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w)
        {
            w.U32(Channel);
            w.U32(ChannelFlags);
        }
    }

    /// <summary>Body: u32 channel, u32 reserved.</summary>
    public sealed record ChannelFree(uint Channel) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.ChannelFree;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
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
        /// <summary>Bytes of the fixed part, of one buffer and of one push entry on the wire.</summary>
        public const int FixedSize = 16, BufferSize = 8, PushSize = 24;

        /// <inheritdoc />
        public override Op Op => Op.Pushbuf;
        /// <inheritdoc />
        public override int BodySize => FixedSize + Buffers.Length * BufferSize + Push.Length * PushSize + Inline.Length;

        /// <inheritdoc />
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
}
