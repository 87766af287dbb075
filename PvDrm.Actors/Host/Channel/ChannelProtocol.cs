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

    /// <summary>CHANNEL_FREE: the channel's work is cancelled; answered once it has stopped and the channel is released.</summary>
    public sealed record Free(Request Request);

    /// <summary>The device finished (or cancelled) one submitted pushbuf; the channel tells itself.</summary>
    public sealed record WorkDone : Akka.Event.IDeadLetterSuppression
    {
        public static WorkDone Instance { get; } = new();
    }

    /// <summary>A closing channel waited the request timeout for its cancelled work: it stops anyway.</summary>
    public sealed record StopWaiting : Akka.Event.IDeadLetterSuppression
    {
        public static StopWaiting Instance { get; } = new();
    }
}
