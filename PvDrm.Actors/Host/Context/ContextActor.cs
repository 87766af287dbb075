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
///
/// Lifecycle: <see cref="Open"/> serves the guest; CLOSE_CONTEXT makes it <see cref="Draining"/>
/// (its GEM and channel actors stop, requests still queued are cancelled) and it answers once the
/// last child has released what it held; closed is the stop, and <see cref="PostStop"/> releases
/// the context's own file, waits and scrubs, whatever stopped it.
/// </summary>
internal sealed partial class ContextActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly GuestSession _session;
    private readonly IGpuDevice _device;
    private readonly IGpuSession _file; // where this context's objects and channels are made: its own DRM file on a real node
    private readonly uint _id;
    private readonly HandleTable _handles;
    private readonly Dictionary<uint, IActorRef> _channels = new();
    private readonly FenceTimeline _fences;

    /// <param name="device">The device the guest had when the context opened: all of the context's objects and channels live there.</param>
    /// <param name="file">The context's session of <paramref name="device"/>; this actor closes it when it stops.</param>
    public ContextActor(GuestSession session, uint id, IGpuDevice device, IGpuSession file)
    {
        _session = session;
        _device = device;
        _file = file;
        _id = id;
        _handles = new HandleTable(id, session.Settings.HandlesPerContext);
        _fences = new FenceTimeline(id);
        session.ContextOpened();
        GemMailbox.EnsureConfigured(Context.System);
        Open();
    }

    /// <summary>Serving the guest's requests for this file.</summary>
    private void Open()
    {

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
        Receive<ContextProtocol.FenceSignaled>(s => _fences.Signaled(s, Timers));
        Receive<ScrubFinished>(ScrubDone);
        Receive<ContextProtocol.WaitTimedOut>(_fences.TimedOut);
        Receive<CloseContext>(StartDraining);
        Receive<Request>(r => r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)} is not supported inside a context"));
    }

    /// <summary>
    /// CLOSE_CONTEXT: every GEM and channel actor stops (their buffers, mappings, channels and
    /// quota go back), and the close is answered once the last is gone, so a guest that opens a
    /// new context right after finds its budgets back.
    /// </summary>
    private void StartDraining(CloseContext close)
    {
        int left = 0;
        foreach (var child in Context.GetChildren())
        {
            Context.Watch(child);
            Context.Stop(child);
            left++;
        }
        if (left == 0) Closed(close);
        else Become(() => Draining(close, left));
    }

    /// <summary>Waiting for the children to stop: what is still queued for the context is cancelled.</summary>
    private void Draining(CloseContext close, int left)
    {
        Receive<Terminated>(_ =>
        {
            if (--left == 0) Closed(close);
        });
        Receive<ContextProtocol.FenceSignaled>(s => _fences.Signaled(s, Timers));
        Receive<ContextProtocol.WaitTimedOut>(_fences.TimedOut);
        Receive<Request>(r => r.Fail(Errno.ECANCELED, $"{OpTable.NameOf(r.Op)}: context {_id} is closing"));
    }

    /// <summary>Everything the children held is released: the close is answered, and the context stops.</summary>
    private void Closed(CloseContext close)
    {
        close.Reply();
        Context.Stop(Self);
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
        if (_handles.Scrubbing && message is Request)
        {
            Stash.Stash();
            return true;
        }
        return HostCallFailures.Receive(receive, message, _id, static id => $"context {id}");
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
        var props = _session.OnDeviceDispatcher(GemActor.Props(_session, handle, gem), _device);
        _handles.Open(handle, Context.ActorOf(props, ActorNames.Unique(Context, $"gem-{handle}")), gem);
        r.Reply(new Replies.GemInfo(handle, gem.Buffer.Domain, gem.Buffer.Size, MapOffset.Of(handle)));
    }

    private void GemNew(GemNew r)
    {
        // Charged before the device allocates, so a guest can never overshoot.
        if (!_handles.CheckNew(r, r.Handle) || !_session.ChargeMemory(r, r.Size, out ulong charge)) return;
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

    private void GemClose(GemClose r)
    {
        if (_handles.TryClose(r.Handle, out var gem)) gem.Tell(new GemProtocol.Close(r));
        else FailUnknownHandle(r, r.Handle);
    }

    private void ToGem(uint handle, Request r)
    {
        if (_handles.TryGet(handle, out var gem)) gem.Actor.Tell(r);
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
        var props = _session.OnDeviceDispatcher(ChannelActor.Props(_session, channel, r.Channel), _device);
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
        var fence = _fences.Issue(Self);

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
            if (!_handles.TryGet(handle, out var gem))
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

    private void FenceWait(FenceWait r) => _fences.Wait(r, Timers, Timeouts.For(r.TimeoutNs, _session.Settings));

    protected override void PostStop()
    {
        // The children (GEM and channel actors) have stopped; the file closes once its last object is released.
        _file.Dispose();
        _session.ContextClosed();
        _fences.CancelWaits();
        _handles.CancelScrubs();
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);
}
