namespace PvDrm.Native.Gpu;

/// <summary>
/// A command channel: pushbufs submitted to one channel execute in submission order; different
/// channels may run at the same time. Disposing it cancels work that has not started
/// (its fences signal ECANCELED) and lets running work finish.
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
