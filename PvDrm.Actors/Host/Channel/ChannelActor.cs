using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Channel;

/// <summary>
/// <c>ctx-&lt;id&gt;/chan-&lt;c&gt;</c>: one channel. Submits the context's pushbufs to the device
/// channel in the order they arrive and links the device's fence to the context's.
///
/// Lifecycle: <see cref="Idle"/> (no work on the device), <see cref="Running"/> (submitted work
/// whose device fence has not signalled), <see cref="Closing"/> (CHANNEL_FREE came while work
/// ran: the device channel is disposed, which cancels its work, and the free is answered once
/// that work has stopped, or after the request timeout at most). The device channel and the
/// guest's channel quota are released in <see cref="PostStop"/>, whatever stopped the actor
/// (CHANNEL_FREE, context closed, guest gone). A device call that fails (a pushbuf refused, a
/// channel the driver failed to free) fails that request only (<see cref="HostCallFailures"/>).
/// </summary>
internal sealed class ChannelActor : UntypedActor, IWithTimers
{
    private readonly GuestSession _session;
    private readonly IGpuChannel _channel;
    private readonly uint _id;
    private int _running; // submissions whose device fence has not signalled
    private Request? _freed; // the CHANNEL_FREE answered once PostStop has released the channel

    public ChannelActor(GuestSession session, IGpuChannel channel, uint id)
    {
        _session = session;
        _channel = channel;
        _id = id;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(GuestSession session, IGpuChannel channel, uint id) =>
        Akka.Actor.Props.Create(() => new ChannelActor(session, channel, id));

    protected override bool AroundReceive(Receive receive, object message) =>
        HostCallFailures.Receive(receive, message, _id, static id => $"channel {id}");

    protected override void OnReceive(object message) => Idle(message);

    private void Idle(object message)
    {
        switch (message)
        {
            case ChannelProtocol.Execute e:
                if (Execute(e)) Context.Become(Running);
                break;
            case ChannelProtocol.Free f:
                Free(f);
                break;
            default:
                Other(message);
                break;
        }
    }

    private void Running(object message)
    {
        switch (message)
        {
            case ChannelProtocol.Execute e:
                Execute(e);
                break;
            case ChannelProtocol.WorkDone:
                if (--_running == 0) Context.Become(Idle);
                break;
            case ChannelProtocol.Free f:
                Free(f);
                break;
            default:
                Other(message);
                break;
        }
    }

    /// <summary>Disposed, waiting for the cancelled work to stop; nothing new runs.</summary>
    private void Closing(object message)
    {
        switch (message)
        {
            case ChannelProtocol.WorkDone or ChannelProtocol.StopWaiting:
                if (message is ChannelProtocol.StopWaiting || --_running == 0) Context.Stop(Self);
                break;
            case ChannelProtocol.Execute e:
                string why = $"PUSHBUF: channel {_id} is being freed";
                e.Fence.TrySignal(Errno.ECANCELED, why);
                e.Request.Fail(Errno.ECANCELED, why, e.Fence);
                ReleaseBuffers(e.Work);
                break;
            default:
                Other(message);
                break;
        }
    }

    private void Other(object message)
    {
        if (message is Request r) r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)} is not a channel operation");
        else if (message is not ChannelProtocol.WorkDone) Unhandled(message);
    }

    /// <summary>Submits the work; false when the device refused it (the request and its fence failed).</summary>
    private bool Execute(ChannelProtocol.Execute e)
    {
        var fence = e.Fence;
        try
        {
            // A refused submission fails the request and its fence (HostCallFailures).
            var done = _channel.Submit(e.Work);
            _running++;
            var self = Self;
            done.OnSignaled(d =>
            {
                // Told before the context's fence signals: whoever waited on that fence and then
                // frees the channel finds this actor idle again.
                self.Tell(ChannelProtocol.WorkDone.Instance);
                fence.TrySignal(d.Error, d.Message);
            });
            e.Request.Reply(new Replies.Fence(fence.Seqno), work: fence);
            return true;
        }
        finally
        {
            ReleaseBuffers(e.Work);
        }
    }

    /// <summary>
    /// CHANNEL_FREE: the device channel is disposed now, cancelling what is queued; with work
    /// still running the actor waits in <see cref="Closing"/> for it to stop. The answer comes
    /// from <see cref="PostStop"/>, after the quota is back, so a CHANNEL_ALLOC right after finds it.
    /// </summary>
    private void Free(ChannelProtocol.Free f)
    {
        try
        {
            _channel.Dispose();
        }
        catch (ErrnoException)
        {
            Context.Stop(Self); // the guest gets the driver's errno (HostCallFailures); the channel goes anyway
            throw;
        }
        _freed = f.Request;
        if (_running == 0)
        {
            Context.Stop(Self);
            return;
        }
        Context.Become(Closing);
        Timers.StartSingleTimer(ChannelProtocol.StopWaiting.Instance, ChannelProtocol.StopWaiting.Instance, _session.Settings.RequestTimeout);
    }

    /// <summary>Drops the references the context took for this work.</summary>
    public static void ReleaseBuffers(Pushbuf work)
    {
        foreach (var b in work.Buffers) b.Release();
    }

    protected override void PostStop()
    {
        try
        {
            _channel.Dispose(); // a second dispose after CHANNEL_FREE does nothing (IDisposable's contract)
        }
        finally
        {
            _session.ReturnChannel();
            _freed?.Reply();
        }
    }
}
