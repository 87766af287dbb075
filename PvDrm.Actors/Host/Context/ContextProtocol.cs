using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Context;

/// <summary>What a context tells itself about its fences.</summary>
internal static class ContextProtocol
{
    public sealed record FenceSignaled(ulong Number, GpuFence Fence);

    public sealed record WaitTimedOut(long Waiter);
}
