using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Channel;

namespace PvDrm.Actors.Host;

/// <summary>
/// The one rule of every actor that serves a guest's requests (guest, context, GEM, channel):
/// a host call that fails while a request is served (an <see cref="ErrnoException"/>: EMFILE
/// from a descriptor budget, ENOMEM from mmap, EIO from an ioctl) fails that request with the
/// call's errno and message, and the actor carries on. Anything else is a bug in the host and
/// stops the guest's subtree, as a failing actor always does. Actors call it from
/// <c>AroundReceive</c> in place of the base (which only invokes <paramref name="receive"/>).
/// </summary>
internal static class HostCallFailures
{
    /// <param name="subject">What the actor serves ("handle 3"), made only when a call failed.</param>
    public static bool Receive<TState>(Receive receive, object message, TState state, Func<TState, string> subject)
    {
        try
        {
            return receive(message);
        }
        catch (ErrnoException e) when (IsRequest(message))
        {
            Fail(message, e.Errno, $"{subject(state)}: {e.Message}");
            return true;
        }
    }

    private static bool IsRequest(object message) =>
        message is Request or ChannelProtocol.Execute or ChannelProtocol.Free or GemProtocol.Close;

    private static void Fail(object message, int errno, string why)
    {
        switch (message)
        {
            case Request r:
                r.Fail(errno, $"{OpTable.NameOf(r.Op)}: {why}");
                break;
            case ChannelProtocol.Execute x:
                // The context numbered a fence for this pushbuf: it fails with the request.
                string what = $"{OpTable.NameOf(x.Request.Op)}: {why}";
                x.Fence.TrySignal(errno, what);
                x.Request.Fail(errno, what, x.Fence);
                break;
            case ChannelProtocol.Free f:
                f.Request.Fail(errno, $"{OpTable.NameOf(f.Request.Op)}: {why}");
                break;
            case GemProtocol.Close c:
                c.Request.Fail(errno, $"{OpTable.NameOf(c.Request.Op)}: {why}");
                break;
        }
    }
}
