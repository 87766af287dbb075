using Akka.Event;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host;

/// <summary>
/// What every actor of one guest shares: its name, link, device, limits and counters. Created
/// at admission and handed down the guest's subtree.
/// </summary>
internal sealed class GuestSession
{
    private int _channels;

    public GuestSession(string name, GuestLink link, IGpuDevice device, HostSettings settings, ILoggingAdapter log)
    {
        Name = name;
        Link = link;
        Device = device;
        Settings = settings;
        Log = log;
    }

    public string Name { get; }

    public GuestLink Link { get; }

    public IGpuDevice Device { get; }

    public HostSettings Settings { get; }

    public ILoggingAdapter Log { get; }

    /// <summary>Channels across all of the guest's contexts.</summary>
    public int Channels => Volatile.Read(ref _channels);

    public bool TryTakeChannel()
    {
        if (Interlocked.Increment(ref _channels) <= Settings.ChannelsPerGuest) return true;
        Interlocked.Decrement(ref _channels);
        return false;
    }

    public void ReturnChannel() => Interlocked.Decrement(ref _channels);

    /// <summary>Props for an actor that calls the device: on the dedicated dispatcher when calls may block.</summary>
    public Akka.Actor.Props OnDeviceDispatcher(Akka.Actor.Props props) =>
        Device.CallsMayBlock ? props.WithDispatcher("pvdrm-device-dispatcher") : props;
}
