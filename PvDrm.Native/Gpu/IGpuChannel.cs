namespace PvDrm.Native.Gpu;

/// <summary>
/// A command channel: pushbufs submitted to one channel execute in submission order; different
/// channels may run at the same time. Disposing it cancels its work (fences signal ECANCELED):
/// queued work never starts, and running work stops at its next command, as a GPU tears down a
/// destroyed context.
/// </summary>
public interface IGpuChannel : IDisposable
{
    /// <summary>
    /// Validates and queues a pushbuf. Throws <see cref="Interop.ErrnoException"/> (EINVAL,
    /// E2BIG, ...) before anything runs when the pushbuf is malformed; otherwise returns the
    /// fence that signals when it has executed. The channel takes its own references on the
    /// pushbuf's buffers and drops them when the fence signals.
    /// </summary>
    GpuFence Submit(Pushbuf pushbuf);
}
