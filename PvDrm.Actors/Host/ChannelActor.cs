using Akka.Actor;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>ctx-&lt;id&gt;/chan-&lt;c&gt;</c>: one channel. Submits the context's pushbufs to the device
/// channel in the order they arrive and links the device's fence to the context's. Stopping it
/// (CHANNEL_FREE, context closed, guest gone) disposes the device channel: its queued and
/// running work is cancelled with ECANCELED.
/// </summary>
internal sealed class ChannelActor : UntypedActor
{
    private readonly GuestSession _session;
    private readonly IGpuChannel _channel;

    public ChannelActor(GuestSession session, IGpuChannel channel)
    {
        _session = session;
        _channel = channel;
    }

    public static Props Props(GuestSession session, IGpuChannel channel) =>
        Akka.Actor.Props.Create(() => new ChannelActor(session, channel));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ChannelProtocol.Execute e:
                Execute(e);
                break;
            case ChannelProtocol.Free f:
                // Released before the answer, so a CHANNEL_ALLOC right after it finds the quota back.
                Release();
                f.Request.Reply();
                Context.Stop(Self);
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
            var done = _channel.Submit(e.Work);
            done.OnSignaled(d => fence.TrySignal(d.Error, d.Message));
            e.Request.Reply(new Replies.Fence(fence.Seqno), work: fence);
        }
        catch (ErrnoException error)
        {
            fence.TrySignal(error.Errno, error.Message);
            e.Request.Fail(error.Errno, error.Message, fence);
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
        _channel.Dispose();
        _session.ReturnChannel();
    }

    protected override void PostStop() => Release();
}
