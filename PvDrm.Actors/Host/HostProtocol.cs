using PvDrm.Actors.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Host;

/// <summary>Between the connection side and the guest registry: admission and departure.</summary>
public static class GuestProtocol
{
    /// <summary>A new connection to serve (from the listener, or from a test over a socketpair).</summary>
    public sealed record Accept(Connection Connection)
    {
        /// <summary>The listener already took the connection's place among the unadmitted.</summary>
        internal bool Counted { get; init; }
    }

    /// <summary>A connection said HELLO; the registry admits or refuses it.</summary>
    internal sealed record Admit(Requests.Hello Hello, GuestLink Link);

    /// <summary>A connection closed before it was admitted (refused, timed out, or the peer left).</summary>
    internal sealed record ClosedBeforeAdmission(GuestLink Link);

    /// <summary>The connection's time to say HELLO is up (<see cref="AdmissionSettings.HelloTimeout"/>).</summary>
    internal sealed record HelloDeadline(GuestLink Link);

    /// <summary>The guest's connection is gone; its actor stops and releases everything.</summary>
    internal sealed record LinkClosed(string Reason);

    /// <summary>The operator removes the guest: it is told why, disconnected, and everything it held released.</summary>
    internal sealed record Evict(string Reason);

    /// <summary>
    /// The operator gives the guest <paramref name="Device"/> (null: takes its device away). The
    /// guest's actor closes the contexts of the previous device first, then answers the sender
    /// with a <see cref="Control.ControlProtocol.Response"/>.
    /// </summary>
    /// <param name="Redirect">With no device here: the pool node whose device the guest has.</param>
    internal sealed record Attach(Native.Gpu.IGpuDevice? Device, string Reason, GuestRedirect? Redirect = null);
}

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

/// <summary>What a context tells itself about its fences.</summary>
internal static class ContextProtocol
{
    public sealed record FenceSignaled(ulong Number, GpuFence Fence);

    public sealed record WaitTimedOut(long Waiter);
}
