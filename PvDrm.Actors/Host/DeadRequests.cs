using Akka.Actor;
using Akka.Event;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Channel;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors.Host;

/// <summary>
/// Keeps the promise that every request is answered exactly once. A request can still be on its
/// way to an actor that stops first (its handle or context closed, its guest left); Akka then
/// delivers it here as a dead letter, and this answers it with ECANCELED and returns anything it
/// carried (buffer references, a new connection).
/// </summary>
internal sealed class DeadRequests : ReceiveActor
{
    public DeadRequests()
    {
        Receive<AllDeadLetters>(d => Handle(d.Message));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new DeadRequests());

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(AllDeadLetters));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private static void Handle(object message)
    {
        switch (message)
        {
            case Request r:
                Cancel(r);
                break;
            case Gate.GateProtocol.Wait w:
                Cancel(w.Request);
                break;
            case Gate.GateProtocol.PassOn p:
                Cancel(p.Request);
                break;
            case GemProtocol.Close c:
                Cancel(c.Request);
                break;
            case ChannelProtocol.Free f:
                Cancel(f.Request);
                break;
            case ChannelProtocol.Execute e:
                ChannelActor.ReleaseBuffers(e.Work);
                e.Fence.TrySignal(Errno.ECANCELED, "channel closed before the pushbuf was submitted");
                Cancel(e.Request, e.Fence);
                break;
            case AdmissionProtocol.Accept a:
                a.Connection.Close("host is shutting down");
                break;
        }
    }

    private static void Cancel(Request r, Native.Gpu.GpuFence? work = null) =>
        r.Fail(Errno.ECANCELED, $"{OpTable.NameOf(r.Op)}: what this request addressed was closed before it ran", work);
}
