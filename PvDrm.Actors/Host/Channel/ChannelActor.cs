using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Channel;

/// <summary>
/// <c>ctx-&lt;id&gt;/chan-&lt;c&gt;</c>: one channel. Submits the context's pushbufs to the device
/// channel in the order they arrive and links the device's fence to the context's. Stopping it
/// (CHANNEL_FREE, context closed, guest gone) disposes the device channel: its queued and
/// running work is cancelled with ECANCELED. A device call that fails (a pushbuf refused, a
/// channel the driver failed to free) fails that request only (<see cref="HostCallFailures"/>).
/// </summary>
internal sealed class ChannelActor : UntypedActor
{
    private readonly GuestSession _session;
    private readonly IGpuChannel _channel;
    private readonly uint _id;

    public ChannelActor(GuestSession session, IGpuChannel channel, uint id)
    {
        _session = session;
        _channel = channel;
        _id = id;
    }

    public static Props Props(GuestSession session, IGpuChannel channel, uint id) =>
        Akka.Actor.Props.Create(() => new ChannelActor(session, channel, id));

    protected override bool AroundReceive(Receive receive, object message) =>
        HostCallFailures.Receive(receive, message, _id, static id => $"channel {id}");

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ChannelProtocol.Execute e:
                Execute(e);
                break;
            case ChannelProtocol.Free f:
                // Released before the answer, so a CHANNEL_ALLOC right after it finds the quota back;
                // the channel stops even if the device failed to free it (the guest gets that errno).
                try
                {
                    Release();
                    f.Request.Reply();
                }
                finally
                {
                    Context.Stop(Self);
                }
                break;
            case Request r:
                r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)} is not a channel operation");
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Execute(ChannelProtocol.Execute e)
    {
        var fence = e.Fence;
        try
        {
            // A refused submission fails the request and its fence (HostCallFailures).
            var done = _channel.Submit(e.Work);
            done.OnSignaled(d => fence.TrySignal(d.Error, d.Message));
            e.Request.Reply(new Replies.Fence(fence.Seqno), work: fence);
        }
        finally
        {
            ReleaseBuffers(e.Work);
        }
    }

    /// <summary>Drops the references the context took for this work.</summary>
    public static void ReleaseBuffers(Pushbuf work)
    {
        foreach (var b in work.Buffers) b.Release();
    }

    private bool _released;

    private void Release()
    {
        if (_released) return;
        _released = true;
        try
        {
            _channel.Dispose();
        }
        finally
        {
            _session.ReturnChannel();
        }
    }

    protected override void PostStop() => Release();
}
