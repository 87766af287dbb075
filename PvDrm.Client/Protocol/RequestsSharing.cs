namespace PvDrm.Protocol;

/// <summary>Sharing objects between contexts: global names and PRIME descriptors.</summary>
public static partial class Requests
{
    // ---- sharing ------------------------------------------------------------------------

    /// <summary>Gives the object a global name (PVDRM's global handles, DRM's flink). Body: u32 handle, u32 flags (0). Reply: u32 name, u32 reserved.</summary>
    public sealed record GemExport(uint Handle) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GemExport;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>
    /// Opens a global name as a new handle (guest-chosen) in this context. Body: u32 name, u32 handle,
    /// u32 flags (SCRUB=1: zero the buffer first, for a GEM cache handing it to another application),
    /// u32 reserved. Reply: GEM info.
    /// </summary>
    public sealed record GemImport(uint Name, uint Handle, GemImportFlags ImportFlags = GemImportFlags.None) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GemImport;
        /// <inheritdoc />
        public override int BodySize => 16;

        /// <inheritdoc />
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
        /// <inheritdoc />
        public override Op Op => Op.PrimeExport;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }

    /// <summary>Turns the descriptor sent with the request into a new handle (guest-chosen). Body: u32 handle, u32 reserved. Reply: GEM info.</summary>
    public sealed record PrimeImport(uint Handle) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.PrimeImport;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => WriteHandle(ref w, Handle);
    }
}
