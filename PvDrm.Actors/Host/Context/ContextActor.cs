using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Channel;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Context;

/// <summary>
/// <c>guests/&lt;guest&gt;/ctx-&lt;id&gt;</c>: one DRM file of a guest. Keeps the guest-handle to
/// object table and the channel table (guest numbers only; host objects never leave it), creates
/// and closes GEM and channel actors, and numbers its fences.
///
/// Ordering rule: a PUSHBUF first tells every GEM actor it uses about the new fence, then hands
/// the work to the channel. A CPU_PREP sent after it passes through here later, so it reaches
/// the GEM actor after the fence does and waits for it; unrelated objects never wait.
/// </summary>
internal sealed partial class ContextActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private const int RememberedFailures = 256;

    private readonly GuestSession _session;
    private readonly IGpuDevice _device;
    private readonly IGpuSession _file; // where this context's objects and channels are made: its own DRM file on a real node
    private readonly uint _id;
    private readonly Dictionary<uint, (IActorRef Actor, HostGem Gem)> _gems = new();
    private readonly Dictionary<uint, IActorRef> _channels = new();
    private readonly Dictionary<ulong, GpuFence> _pendingFences = new();
    private readonly Dictionary<ulong, GpuFence> _failedFences = new();
    private readonly Queue<ulong> _failedOrder = new();
    private readonly Dictionary<long, (FenceWait Request, ulong Fence)> _waiters = new();
    private readonly Dictionary<uint, (GemImport Request, HostGem Gem)> _scrubbing = new(); // handles taken by scrubs under way
    private ulong _lastFence;
    private long _nextWaiter;

    /// <param name="device">The device the guest had when the context opened: all of the context's objects and channels live there.</param>
    /// <param name="file">The context's session of <paramref name="device"/>; this actor closes it when it stops.</param>
    public ContextActor(GuestSession session, uint id, IGpuDevice device, IGpuSession file)
    {
        _session = session;
        _device = device;
        _file = file;
        _id = id;
        session.ContextOpened();
        GemMailbox.EnsureConfigured(Context.System);

        Receive<GemNew>(GemNew);
        Receive<GemClose>(GemClose);
        Receive<GemImport>(GemImport);
        Receive<PrimeImport>(PrimeImport);
        Receive<GemExport>(r => ToGem(r.Handle, r));
        Receive<PrimeExport>(r => ToGem(r.Handle, r));
        Receive<GemInfo>(r => ToGem(r.Handle, r));
        Receive<GemMap>(r => ToGem(r.Handle, r));
        Receive<GemRead>(r => ToGem(r.Handle, r));
        Receive<GemWrite>(r => ToGem(r.Handle, r));
        Receive<CpuPrep>(r => ToGem(r.Handle, r));
        Receive<CpuFini>(r => ToGem(r.Handle, r));
        Receive<ChannelAlloc>(ChannelAlloc);
        Receive<ChannelFree>(ChannelFree);
        Receive<Requests.Pushbuf>(Pushbuf);
        Receive<FenceWait>(FenceWait);
        Receive<ContextProtocol.FenceSignaled>(FenceSignaled);
        Receive<ScrubFinished>(ScrubDone);
        Receive<ContextProtocol.WaitTimedOut>(t =>
        {
            if (_waiters.Remove(t.Waiter, out var w))
                w.Request.Fail(Errno.ETIMEDOUT, $"FENCE_WAIT: fence {w.Fence} did not signal in time");
        });
        Receive<CloseContext>(r =>
        {
            r.Reply();
            Context.Stop(Self);
        });
        Receive<Request>(r => r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)} is not supported inside a context"));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public static Props Props(GuestSession session, uint id, IGpuDevice device, IGpuSession file) =>
        Akka.Actor.Props.Create(() => new ContextActor(session, id, device, file));

    /// <summary>
    /// A host syscall that fails on any path (EMFILE, ENOMEM...) fails that request only, never the
    /// context. While a SCRUB import finishes off this thread, the guest's next requests wait
    /// (bounded by its in-flight limit), so they keep their order: one may name the handle it opens.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (_scrubbing.Count > 0 && message is Request)
        {
            Stash.Stash();
            return true;
        }
        return HostCallFailures.Receive(receive, message, _id, static id => $"context {id}");
    }

    /// <summary>Checks a guest-chosen handle for a new object: non-zero, unused, within the limit.</summary>
    private bool CheckNewHandle(Request r, uint handle)
    {
        if (handle == 0) r.Fail(Errno.EINVAL, $"{OpTable.NameOf(r.Op)}: handle 0 is reserved; choose a non-zero handle");
        else if (_gems.ContainsKey(handle) || _scrubbing.ContainsKey(handle)) r.Fail(Errno.EEXIST, $"{OpTable.NameOf(r.Op)}: handle {handle} is already in use in context {_id}");
        else if (_gems.Count + _scrubbing.Count >= _session.Settings.HandlesPerContext)
            r.Fail(Errno.EMFILE, $"{OpTable.NameOf(r.Op)}: context {_id} already has {_gems.Count + _scrubbing.Count} GEM objects (limits.handles-per-context)");
        else return true;
        return false;
    }

    /// <summary>
    /// Creates the actor of a new handle for <paramref name="gem"/> (whose handle count already
    /// includes it) and answers with its info; the guest's handle budget is charged first, and a
    /// refusal gives the handle back.
    /// </summary>
    private void Open(Request r, uint handle, HostGem gem)
    {
        if (!_session.Quota.Handles.TryTake())
        {
            gem.ReleaseHandle();
            r.Fail(Errno.EMFILE, $"{OpTable.NameOf(r.Op)}: guest {_session.Name} already has {_session.Quota.Handles.Used} GEM handles over its contexts (limits.handles-per-guest)");
            return;
        }
        var props = GuestSession.OnDeviceDispatcher(GemActor.Props(_session, handle, gem), _device);
        _gems[handle] = (Context.ActorOf(props, ActorNames.Unique(Context, $"gem-{handle}")), gem);
        r.Reply(new Replies.GemInfo(handle, gem.Buffer.Domain, gem.Buffer.Size, MapOffset.Of(handle)));
    }

    private void GemNew(GemNew r)
    {
        // Charged before the device allocates, so a guest can never overshoot.
        if (!CheckNewHandle(r, r.Handle) || !_session.ChargeMemory(r, r.Size, out ulong charge)) return;
        IGpuBuffer buffer;
        try
        {
            buffer = _file.CreateBuffer(r.Size, r.Domain, r.GemFlags);
        }
        catch (ErrnoException e)
        {
            _session.ReleaseMemory(charge);
            r.Fail(e.Errno, $"GEM_NEW: {e.Message}");
            return;
        }
        Open(r, r.Handle, new HostGem(buffer, _device, _session, charge, _session.Gems));
    }

    /// <summary>Objects never move between devices: opening one that lives on another fails with EXDEV.</summary>
    private bool OnThisDevice(Request r, HostGem gem)
    {
        if (gem.Device == _device) return true;
        r.Fail(Errno.EXDEV, $"{OpTable.NameOf(r.Op)}: the buffer lives on device {gem.Device.Name} and context {_id} of guest {_session.Name} is on device {_device.Name}; buffers are shared only between guests of the same device");
        return false;
    }

    private void GemImport(GemImport r)
    {
        if (!CheckNewHandle(r, r.Handle)) return;
        // Names of guests this one may not share with do not exist for it.
        var gem = _session.Gems.Lookup(r.Name, _session.Name);
        if (gem == null)
        {
            r.Fail(Errno.ENOENT, $"GEM_IMPORT: no GEM object has the global name {r.Name} for guest {_session.Name}");
            return;
        }
        if (!OnThisDevice(r, gem)) return;
        gem.AddHandle();
        if ((r.ImportFlags & GemImportFlags.Scrub) != 0) StartScrub(r, gem);
        else Open(r, r.Handle, gem);
    }

    private void PrimeImport(PrimeImport r)
    {
        using var fd = r.TakeFd()!;
        if (!CheckNewHandle(r, r.Handle)) return;
        HostGem? gem;
        try
        {
            gem = _session.Gems.LookupFile(fd);
        }
        catch (ErrnoException e)
        {
            r.Fail(Errno.EINVAL, $"PRIME_IMPORT: the descriptor cannot be used: {e.Message}");
            return;
        }
        if (gem != null)
        {
            if (!_session.Gems.MayShare(gem.Owner.Name, _session.Name))
            {
                r.Fail(Errno.EACCES, $"PRIME_IMPORT: the buffer belongs to guest {gem.Owner.Name}, and sharing between {gem.Owner.Name} and {_session.Name} is not allowed (pvdrm.host.sharing.groups)");
                return;
            }
            if (!OnThisDevice(r, gem)) return;
            gem.AddHandle();
            Open(r, r.Handle, gem);
            return;
        }
        // Memory another process made: adopt it as a new object of this guest.
        if (PrimeAdoption.Adopt(r, fd, _session, _device, _file) is { } adopted) Open(r, r.Handle, adopted);
    }

    private void GemClose(GemClose r)
    {
        if (_gems.Remove(r.Handle, out var gem)) gem.Actor.Tell(new GemProtocol.Close(r));
        else FailUnknownHandle(r, r.Handle);
    }

    private void ToGem(uint handle, Request r)
    {
        if (_gems.TryGetValue(handle, out var gem)) gem.Actor.Tell(r);
        else FailUnknownHandle(r, handle);
    }

    private void FailUnknownHandle(Request r, uint handle) =>
        r.Fail(Errno.ENOENT, $"{OpTable.NameOf(r.Op)}: handle {handle} is not a GEM object in context {_id}");

    private void ChannelAlloc(ChannelAlloc r)
    {
        if (r.Channel == 0)
        {
            r.Fail(Errno.EINVAL, "CHANNEL_ALLOC: channel 0 is reserved; choose a non-zero id");
            return;
        }
        if (_channels.ContainsKey(r.Channel))
        {
            r.Fail(Errno.EEXIST, $"CHANNEL_ALLOC: channel {r.Channel} is already allocated in context {_id}");
            return;
        }
        if (!_session.TryTakeChannel())
        {
            r.Fail(Errno.EMFILE, $"CHANNEL_ALLOC: guest {_session.Name} already has {_session.Settings.ChannelsPerGuest} channels (limits.channels-per-guest)");
            return;
        }
        IGpuChannel channel;
        try
        {
            channel = _file.CreateChannel(_session.Name);
        }
        catch (ErrnoException e)
        {
            _session.ReturnChannel();
            r.Fail(e.Errno, $"CHANNEL_ALLOC: {e.Message}");
            return;
        }
        var props = GuestSession.OnDeviceDispatcher(ChannelActor.Props(_session, channel, r.Channel), _device);
        _channels[r.Channel] = Context.ActorOf(props, ActorNames.Unique(Context, $"chan-{r.Channel}"));
        r.Reply();
    }

    private void ChannelFree(ChannelFree r)
    {
        if (_channels.Remove(r.Channel, out var channel)) channel.Tell(new ChannelProtocol.Free(r));
        else r.Fail(Errno.ENOENT, $"CHANNEL_FREE: channel {r.Channel} is not allocated in context {_id}");
    }

    private void Pushbuf(Requests.Pushbuf r)
    {
        // Every PUSHBUF takes the next number, even one that fails, so a guest that batches
        // reply-less submissions can still name their fences.
        var fence = new GpuFence(++_lastFence);
        var self = Self;
        _pendingFences[fence.Seqno] = fence;
        fence.OnSignaled(f => self.Tell(new ContextProtocol.FenceSignaled(f.Seqno, f)));

        (int Errno, string Message)? problem = null;
        if (!_session.TryQueuePushbuf())
        {
            problem = (Errno.EAGAIN, $"PUSHBUF: guest {_session.Name} already has {_session.Settings.QueuedPushbufsPerGuest} pushbufs queued or running (limits.queued-pushbufs-per-guest); wait for a fence");
            fence.TrySignal(problem.Value.Errno, problem.Value.Message);
            r.Fail(problem.Value.Errno, problem.Value.Message, fence);
            return;
        }
        var session = _session;
        fence.OnSignaled(_ => session.PushbufDone());
        if (!_channels.TryGetValue(r.Channel, out var channel))
            problem = (Errno.ENOENT, $"PUSHBUF: channel {r.Channel} is not allocated in context {_id}");
        var buffers = new IGpuBuffer[r.Buffers.Length];
        var access = new BufferAccess[r.Buffers.Length];
        var actors = new IActorRef[r.Buffers.Length];
        for (int i = 0; problem == null && i < r.Buffers.Length; i++)
        {
            uint handle = r.Buffers[i].Handle;
            if (!_gems.TryGetValue(handle, out var gem))
                problem = (Errno.ENOENT, $"PUSHBUF: buffer {i}: handle {handle} is not a GEM object in context {_id}");
            else if (Array.IndexOf(actors, gem.Actor, 0, i) >= 0)
                problem = (Errno.EINVAL, $"PUSHBUF: buffer {i}: handle {handle} is listed twice");
            else if (!gem.Gem.ChargeDescriptor())
                problem = (Errno.EMFILE, gem.Gem.DescriptorRefusal($"PUSHBUF: buffer {i}"));
            else
                (buffers[i], access[i], actors[i]) = (gem.Gem.Buffer, r.Buffers[i].Access, gem.Actor);
        }
        if (problem is var (errno, message))
        {
            fence.TrySignal(errno, message);
            r.Fail(errno, message, fence);
            return;
        }

        // The channel owns these references until it has submitted (the device then holds its own),
        // so a GEM_CLOSE processed meanwhile cannot free a buffer the work still names.
        foreach (var b in buffers) b.AddRef();
        foreach (var a in actors) a.Tell(new GemProtocol.Fenced(fence));
        channel!.Tell(new ChannelProtocol.Execute(r, new Native.Gpu.Pushbuf(buffers, access, r.Push, r.Inline), fence));
    }

    private void FenceWait(FenceWait r)
    {
        if (r.Fence == 0 || r.Fence > _lastFence)
        {
            r.Fail(Errno.ENOENT, $"FENCE_WAIT: fence {r.Fence} was never issued in context {_id} (last is {_lastFence})");
            return;
        }
        if (!_pendingFences.ContainsKey(r.Fence))
        {
            ReplyWithOutcome(r, r.Fence);
            return;
        }
        if ((r.WaitFlags & FenceWaitFlags.NoWait) != 0)
        {
            r.Fail(Errno.EBUSY, $"FENCE_WAIT: fence {r.Fence} has not signalled yet");
            return;
        }
        long id = ++_nextWaiter;
        _waiters[id] = (r, r.Fence);
        Timers.StartSingleTimer(id, new ContextProtocol.WaitTimedOut(id), Timeouts.For(r.TimeoutNs, _session.Settings));
    }

    private void FenceSignaled(ContextProtocol.FenceSignaled s)
    {
        _pendingFences.Remove(s.Number);
        if (s.Fence.Error != 0)
        {
            _failedFences[s.Number] = s.Fence;
            _failedOrder.Enqueue(s.Number);
            if (_failedOrder.Count > RememberedFailures) _failedFences.Remove(_failedOrder.Dequeue());
        }
        List<long>? done = null;
        foreach (var (id, w) in _waiters)
            if (w.Fence == s.Number) (done ??= new()).Add(id);
        if (done == null) return;
        foreach (long id in done)
        {
            _waiters.Remove(id, out var w);
            Timers.Cancel(id);
            ReplyWithOutcome(w.Request, s.Number);
        }
    }

    private void ReplyWithOutcome(FenceWait r, ulong number)
    {
        if (_failedFences.TryGetValue(number, out var failed))
            r.Fail(failed.Error, $"FENCE_WAIT: fence {number} failed: {failed.Message}");
        else r.Reply();
    }

    protected override void PostStop()
    {
        // The children (GEM and channel actors) have stopped; the file closes once its last object is released.
        _file.Dispose();
        _session.ContextClosed();
        foreach (var (_, w) in _waiters)
            w.Request.Fail(Errno.ECANCELED, $"FENCE_WAIT: context {_id} was closed");
        // A scrub under way finishes on the device; its handle was never opened.
        foreach (var (_, (request, gem)) in _scrubbing)
        {
            gem.ReleaseHandle();
            request.Fail(Errno.ECANCELED, $"GEM_IMPORT: context {_id} was closed while the buffer was scrubbed");
        }
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);
}
