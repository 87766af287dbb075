using Akka.Event;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors.Host.Guest;

/// <summary>
/// What every actor of one guest shares: its name, link, device, limits and counters. Created
/// at admission and handed down the guest's subtree.
/// </summary>
internal sealed class GuestSession
{
    private int _contexts, _objects;

    public GuestSession(string name, GuestLink link, GemTable gems, HostSettings settings, ILoggingAdapter log)
    {
        Name = name;
        Link = link;
        Gems = gems;
        Settings = settings;
        Quota = new GuestQuota(settings);
        Log = log;
        link.Session = this; // device queries are answered by the link itself (DeviceQueries)
    }

    /// <summary>The host's shared objects: global names and exported descriptors.</summary>
    public GemTable Gems { get; }

    /// <summary>
    /// The guest hit its memory limit: ask it to drop cached buffers (a RECLAIM event), at most
    /// once a second, so a guest keeping a GEM cache can make room without being told twice.
    /// </summary>
    public void AskToReclaim(ulong bytes)
    {
        long now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _lastReclaim) < 1000) return;
        Interlocked.Exchange(ref _lastReclaim, now);
        Link.SendEvent(Op.Reclaim, new Replies.Reclaim(bytes));
    }

    private long _lastReclaim = long.MinValue / 2;

    public string Name { get; }

    public GuestLink Link { get; }

    /// <summary>
    /// The device new contexts open on; null: none attached (OPEN_CONTEXT answers ENODEV). Set
    /// by the guest's actor only, after it closed the contexts of the previous device.
    /// </summary>
    public IGpuDevice? Device
    {
        get => Volatile.Read(ref _device);
        set => Volatile.Write(ref _device, value);
    }

    private IGpuDevice? _device;

    /// <summary>In a pool, with no device here: where the guest's device is (OPEN_CONTEXT answers EREMOTE with it).</summary>
    public GuestRedirect? Redirect
    {
        get => Volatile.Read(ref _redirect);
        set => Volatile.Write(ref _redirect, value);
    }

    private GuestRedirect? _redirect;

    /// <summary>Why a guest without a device cannot do <paramref name="what"/>, as its requests are told.</summary>
    public string NoDevice(string what) =>
        $"{what}: guest {Name} has no device attached; an operator attaches one with `pvdrm-host attach --guest {Name} --device DEVICE`";

    public HostSettings Settings { get; }

    /// <summary>The guest's budgets of memory, handles, descriptors, channels and queued work.</summary>
    public GuestQuota Quota { get; }

    public ILoggingAdapter Log { get; }

    public DateTime ConnectedAt { get; } = DateTime.UtcNow;

    /// <summary>Channels across all of the guest's contexts.</summary>
    public int Channels => (int)Quota.Channels.Used;

    public int Contexts => Volatile.Read(ref _contexts);

    public int Objects => Volatile.Read(ref _objects);

    /// <summary>Buffer bytes charged to the guest (limits.memory-per-guest).</summary>
    public long Memory => Quota.Memory.Used;

    public int QueuedPushbufs => (int)Quota.QueuedPushbufs.Used;

    /// <summary>Bytes of the objects whose pages the guest was given (GEM_MAP, PRIME_EXPORT) and still holds.</summary>
    public long MappedBytes => Interlocked.Read(ref _mapped);

    private long _mapped;

    public void Mapped(ulong bytes) => Interlocked.Add(ref _mapped, (long)bytes);

    public void Unmapped(ulong bytes) => Interlocked.Add(ref _mapped, -(long)bytes);

    public bool TryTakeChannel() => Quota.Channels.TryTake();

    public void ReturnChannel() => Quota.Channels.Return();

    public void ContextOpened() => Interlocked.Increment(ref _contexts);

    public void ContextClosed() => Interlocked.Decrement(ref _contexts);

    /// <summary>Charges <paramref name="bytes"/> of buffer memory; false when over the guest's limit.</summary>
    public bool TryChargeMemory(ulong bytes)
    {
        if (!Quota.Memory.TryTake(bytes)) return false;
        Interlocked.Increment(ref _objects);
        return true;
    }

    /// <summary>
    /// Charges a new object of <paramref name="size"/> bytes (whole pages, saturating: a size near
    /// 2^64 is simply over any limit) before the device allocates; refuses <paramref name="r"/> with
    /// ENOSPC naming limits.memory-per-guest when over.
    /// </summary>
    public bool ChargeMemory(Request r, ulong size, out ulong charge)
    {
        charge = size > ulong.MaxValue - 4095 ? ulong.MaxValue : (size + 4095) & ~4095UL;
        if (charge > Settings.MemoryPerGuest)
        {
            // It could never fit: no reclaim helps, and nothing was charged.
            r.Fail(Errno.E2BIG, $"{OpTable.NameOf(r.Op)}: {size} bytes exceeds guest {Name}'s whole limits.memory-per-guest ({Settings.MemoryPerGuest} bytes)");
            return false;
        }
        if (TryChargeMemory(charge)) return true;
        AskToReclaim(charge);
        r.Fail(Errno.ENOSPC, $"{OpTable.NameOf(r.Op)}: {size} more bytes would take guest {Name} past limits.memory-per-guest ({Settings.MemoryPerGuest} bytes, {Memory} in use)");
        return false;
    }

    public void ReleaseMemory(ulong bytes)
    {
        Quota.Memory.Return(bytes);
        Interlocked.Decrement(ref _objects);
    }

    /// <summary>Counts a pushbuf until its fence signals; false when the guest has its limit queued.</summary>
    public bool TryQueuePushbuf() => Quota.QueuedPushbufs.TryTake();

    public void PushbufDone() => Quota.QueuedPushbufs.Return();

    /// <summary>
    /// Props for an actor that calls <paramref name="device"/>: on the dedicated dispatcher when its
    /// calls may block, else beside the guest's actor (on the I/O loop when <see cref="OnIoLoop"/>).
    /// </summary>
    public Akka.Actor.Props OnDeviceDispatcher(Akka.Actor.Props props, IGpuDevice device) =>
        device.CallsMayBlock ? props.WithDispatcher("pvdrm-device-dispatcher") : OnGuestDispatcher(props);

    /// <summary>Props for one of the guest's actors: on the I/O loop that serves its link when <see cref="OnIoLoop"/>.</summary>
    public Akka.Actor.Props OnGuestDispatcher(Akka.Actor.Props props) =>
        OnIoLoop ? props.WithDispatcher(Loop.IoLoopDispatcher.Id) : props;

    /// <summary>
    /// The guest's actors run on the I/O loop that reads its requests (<c>pvdrm.host.actors-on-io-loop</c>):
    /// on when configured and the link is served by the loop the dispatcher runs on.
    /// </summary>
    public bool OnIoLoop => Settings.ActorsOnIoLoop && Link.Connection switch
    {
        Native.Io.Ring.RingServerConnection ring => ring.Loop == Loop.IoLoopDispatcher.Loop,
        Native.Io.SocketConnection socket => socket.Loop == Loop.IoLoopDispatcher.Loop,
        _ => false,
    };
}
