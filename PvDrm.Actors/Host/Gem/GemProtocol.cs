using PvDrm.Protocol;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Gem;

/// <summary>What a context tells its GEM actors, and what they tell themselves.</summary>
internal static class GemProtocol
{
    /// <summary>A pushbuf that uses this buffer was submitted; CPU_PREP must wait for its fence.</summary>
    public sealed record Fenced(GpuFence Fence);

    /// <summary>The handle was closed (GEM_CLOSE): answer, then stop and drop the buffer reference.</summary>
    public sealed record Close(Request Request);

    public sealed record FenceRetired(GpuFence Fence);

    /// <summary>A CPU_PREP waited too long; the waiter is the GEM actor's own token for it.</summary>
    public sealed record PrepTimedOut(object Waiter);
}
