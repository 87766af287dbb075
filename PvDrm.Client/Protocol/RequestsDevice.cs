namespace PvDrm.Protocol;

/// <summary>Device queries, answered without a context.</summary>
public static partial class Requests
{
    // ---- device -------------------------------------------------------------------------

    /// <summary>DRM_IOCTL_VERSION. Empty body.</summary>
    public sealed record GetVersion : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GetVersion;
        /// <inheritdoc />
        public override int BodySize => 0;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) { }
    }

    /// <summary>Body: u64 param (nouveau GETPARAM numbering).</summary>
    public sealed record GetParam(ulong Param) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GetParam;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => w.U64(Param);
    }

    /// <summary>Body: u64 capability (DRM_CAP_* numbering).</summary>
    public sealed record GetCap(ulong Cap) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.GetCap;
        /// <inheritdoc />
        public override int BodySize => 8;
        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w) => w.U64(Cap);
    }
}
