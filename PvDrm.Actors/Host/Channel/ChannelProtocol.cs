using PvDrm.Protocol;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Channel;

/// <summary>What a context tells its channel actors.</summary>
internal static class ChannelProtocol
{
    /// <summary>
    /// Run <paramref name="Work"/> and signal <paramref name="Fence"/> (the context's fence) when it
    /// has. The channel owns one reference on each of the work's buffers and drops it after submitting.
    /// </summary>
    public sealed record Execute(Requests.Pushbuf Request, Pushbuf Work, GpuFence Fence);

    /// <summary>CHANNEL_FREE: answer, then stop (the channel's work is cancelled).</summary>
    public sealed record Free(Request Request);
}
