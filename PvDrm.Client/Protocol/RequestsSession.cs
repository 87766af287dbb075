using System.Text;
using PvDrm.Native.Gpu;

namespace PvDrm.Protocol;

/// <summary>The session conversation: HELLO and a context's open and close.</summary>
public static partial class Requests
{
    // ---- session ------------------------------------------------------------------------

    /// <summary>Body: u32 version, u32 capabilities, u32 max_frame, u16 name_len, u16 token_len, name, token.</summary>
    public sealed record Hello(uint Version, uint Capabilities, uint MaxFrame, string Name, string Token) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.Hello;
        /// <inheritdoc />
        public override int BodySize => 16 + Encoding.UTF8.GetByteCount(Name) + Encoding.UTF8.GetByteCount(Token);

        /// <inheritdoc />
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
        /// <summary>Prints the fields, the token withheld.</summary>
        protected override bool PrintMembers(StringBuilder b)
        {
            b.Append($"RequestId = {RequestId}, Version = {Version}, Name = {Name}");
            return true;
        }
    }

    /// <summary>Offers a shared-memory ring; its memfd travels with the frame. Body: u32 flags (0), u32 reserved.</summary>
    public sealed record RingAttach(uint RingFlags) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.RingAttach;
        /// <inheritdoc />
        public override int BodySize => 8;

        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w)
        {
            w.U32(RingFlags);
            w.U32(0);
        }
    }

    /// <summary>Opens the context named in the header (guest-chosen, non-zero). Body: u32 flags, u32 reserved.</summary>
    public sealed record OpenContext(uint ContextFlags) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.OpenContext;
        /// <inheritdoc />
        public override int BodySize => 8;

        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w)
        {
            w.U32(ContextFlags);
            w.U32(0);
        }
    }

    /// <summary>Closes the header's context and everything in it. Empty body.</summary>
    public sealed record CloseContext : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.CloseContext;
        /// <inheritdoc />
        public override int BodySize => 0;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) { }
    }
}
