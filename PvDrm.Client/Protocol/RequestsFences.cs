namespace PvDrm.Protocol;

/// <summary>Waiting for the GPU: a context's fences.</summary>
public static partial class Requests
{
    // ---- fences -------------------------------------------------------------------------

    /// <summary>Body: u64 fence, u64 timeout_ns (0: the host's request timeout), u32 flags (NOWAIT=1), u32 reserved.</summary>
    public sealed record FenceWait(ulong Fence, ulong TimeoutNs, FenceWaitFlags WaitFlags) : Request
    {
        /// <inheritdoc />
        public override Op Op => Op.FenceWait;
        /// <inheritdoc />
        public override int BodySize => 24;

        /// <inheritdoc />
        public override void WriteBody(ref WireWriter w)
        {
            w.U64(Fence);
            w.U64(TimeoutNs);
            w.U32((uint)WaitFlags);
            w.U32(0);
        }
    }
}
