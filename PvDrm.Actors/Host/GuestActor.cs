using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Actors.Protocol.Requests;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>/user/pvdrm/guests/&lt;guest&gt;</c>: one connected guest. Answers session and device
/// requests, opens and closes its contexts, and routes everything else to the context it names.
/// Stopping it (disconnect, failure, shutdown) stops every context below and so releases
/// everything the guest held.
/// </summary>
internal sealed class GuestActor : ReceiveActor
{
    private readonly GuestSession _session;
    private readonly Dictionary<uint, IActorRef> _contexts = new();

    public GuestActor(GuestSession session)
    {
        _session = session;

        Receive<OpenContext>(Open);
        Receive<CloseContext>(Close);
        Receive<GetVersion>(r => r.Reply(Replies.Version.From(_session.Device.Info)));
        Receive<GetParam>(r =>
        {
            if (_session.Device.TryGetParam(r.Param, out ulong value)) r.Reply(new Replies.Value(value));
            else r.Fail(Errno.EINVAL, $"GET_PARAM: parameter {r.Param} is not known to {_session.Device.Info.Driver}");
        });
        Receive<GetCap>(r =>
        {
            if (_session.Device.TryGetCap(r.Cap, out ulong value)) r.Reply(new Replies.Value(value));
            else r.Fail(Errno.EINVAL, $"GET_CAP: capability {r.Cap} is not known to {_session.Device.Info.Driver}");
        });
        Receive<Request>(Route);
        Receive<GuestProtocol.Evict>(evict =>
        {
            _session.Log.Warning("guest {Guest} {Reason}; releasing {Contexts} context(s)", _session.Name, evict.Reason, _contexts.Count);
            _stopReason = evict.Reason;
            Context.Stop(Self);
        });
        Receive<GuestProtocol.LinkClosed>(closed =>
        {
            _session.Log.Info("guest {Guest} disconnected ({Reason}); releasing {Contexts} context(s)", _session.Name, closed.Reason, _contexts.Count);
            _stopReason = closed.Reason;
            Context.Stop(Self);
        });
    }

    public static Props Props(GuestSession session) => Akka.Actor.Props.Create(() => new GuestActor(session));

    // A failure here ends the guest (the registry stops it): tell it why rather than a generic reason.
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception e)
        {
            _stopReason = $"the host failed serving this guest ({e.GetType().Name}: {e.Message}); everything it held is released";
            throw;
        }
    }

    private void Open(OpenContext request)
    {
        if (_contexts.ContainsKey(request.Context))
        {
            request.Fail(Errno.EEXIST, $"OPEN_CONTEXT: context {request.Context} is already open");
            return;
        }
        if (_contexts.Count >= _session.Settings.ContextsPerGuest)
        {
            request.Fail(Errno.EMFILE, $"OPEN_CONTEXT: guest {_session.Name} already has {_contexts.Count} contexts open (limits.contexts-per-guest)");
            return;
        }
        var props = _session.OnDeviceDispatcher(ContextActor.Props(_session, request.Context));
        _contexts[request.Context] = Context.ActorOf(props, ActorNames.Unique(Context, $"ctx-{request.Context}"));
        request.Reply();
    }

    private void Close(CloseContext request)
    {
        if (!_contexts.Remove(request.Context, out var context))
        {
            request.Fail(Errno.ENOENT, $"CLOSE_CONTEXT: context {request.Context} is not open");
            return;
        }
        // The context answers after everything queued before it, then stops.
        context.Tell(request);
    }

    private void Route(Request request)
    {
        if (_contexts.TryGetValue(request.Context, out var context)) context.Tell(request);
        else request.Fail(Errno.ENOENT, $"{OpTable.NameOf(request.Op)}: context {request.Context} is not open");
    }

    private string _stopReason = "host is shutting down";

    // Whatever stopped this actor (disconnect, failure, shutdown), the guest is told why.
    protected override void PostStop() => _session.Link.CloseWith(Op.Shutdown, Errno.ESHUTDOWN, _stopReason);

    // A failure anywhere below ends this guest (the registry stops it): no half-cleaned state.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);
}
