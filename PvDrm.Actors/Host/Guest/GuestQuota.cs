using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Guest;

/// <summary>
/// What one guest may hold of each host resource it can drive, as compare-and-swap
/// <see cref="Budget"/>s named by their <c>pvdrm.host.limits</c> keys: a take never passes its
/// limit, even for an instant, and no size wraps a count. Shared by the guest's actors.
/// </summary>
internal sealed class GuestQuota
{
    public GuestQuota(HostSettings settings)
    {
        Memory = new Budget("limits.memory-per-guest", (long)settings.MemoryPerGuest);
        Channels = new Budget("limits.channels-per-guest", settings.ChannelsPerGuest);
        QueuedPushbufs = new Budget("limits.queued-pushbufs-per-guest", settings.QueuedPushbufsPerGuest);
        Handles = new Budget("limits.handles-per-guest", settings.HandlesPerGuest);
        Descriptors = new Budget("limits.descriptors-per-guest", settings.DescriptorsPerGuest);
    }

    /// <summary>Buffer bytes, whole pages, charged to the object's owner.</summary>
    public Budget Memory { get; }

    public Budget Channels { get; }

    /// <summary>Pushbufs queued or running, until their fences signal.</summary>
    public Budget QueuedPushbufs { get; }

    /// <summary>GEM handles (each an actor) over all contexts, imported ones included.</summary>
    public Budget Handles { get; }

    /// <summary>
    /// Host descriptors of the guest's objects: each object whose memory exists (written, handed
    /// out, used by a pushbuf, imported) holds one, and the host maps it at most once.
    /// </summary>
    public Budget Descriptors { get; }
}
