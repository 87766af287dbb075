using Akka.Actor;
using Akka.Event;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;
using PvDrm.Actors.Host.Context;

namespace PvDrm.Actors.Host.Guest;

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
        // Those the link did not answer itself: gated, a device whose calls may block, or none attached.
        Receive<Request>(DeviceQueries.IsQuery, r =>
        {
            if (DeviceFor(r) is { } device) DeviceQueries.TryAnswer(r, device);
        });
        Receive<Request>(Route);
        Receive<GuestProtocol.Attach>(Attach);
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

    // A failed host call fails its request only (a device query's ioctl, opening a context's file).
    // Any other failure ends the guest (the registry stops it): tell it why rather than a generic reason.
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return HostCallFailures.Receive(receive, message, _session.Name, static name => $"guest {name}");
        }
        catch (Exception e)
        {
            _stopReason = $"the host failed serving this guest ({e.GetType().Name}: {e.Message}); everything it held is released";
            throw;
        }
    }

    /// <summary>The guest's device, or null after answering ENODEV.</summary>
    private Native.Gpu.IGpuDevice? DeviceFor(Request request)
    {
        if (_session.Device is { } device) return device;
        // In a pool: the client reconnects to the node whose device it is (PROTOCOL.md, "Redirects").
        if (_session.Redirect is { } to)
            request.Fail(Errno.EREMOTE, $"{Redirects.Prefix}{to.Address}: guest {_session.Name}'s device is {to.Placement}");
        else request.Fail(Errno.ENODEV, _session.NoDevice(OpTable.NameOf(request.Op)));
        return null;
    }

    private void Open(OpenContext request)
    {
        if (DeviceFor(request) is not { } device) return;
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
        // A context is a file of the device: on a real DRM node its own open file (limits.drm-files*).
        var file = device.OpenSession(_session.Name); // may fail (EMFILE): this request only, see AroundReceive
        var props = _session.OnDeviceDispatcher(ContextActor.Props(_session, request.Context, device, file), device);
        _contexts[request.Context] = Context.ActorOf(props, ActorNames.Unique(Context, $"ctx-{request.Context}"));
        _session.Link.ContextReopened(request.Context);
        request.Reply();
    }

    /// <summary>
    /// A new device, or none: the contexts of the old one close as on disconnect (objects,
    /// mappings, channels, names and quota released), and whatever they still had in flight is
    /// answered ENODEV. The guest stays connected; new contexts open on the new device.
    /// </summary>
    private void Attach(GuestProtocol.Attach attach)
    {
        var old = _session.Device;
        _session.Redirect = attach.Redirect;
        if (old == attach.Device)
        {
            Sender.Tell(new Control.ControlProtocol.Response(true, attach.Device == null
                ? $"guest {_session.Name} has no device attached"
                : $"guest {_session.Name} is already attached to {attach.Device.Name}"));
            return;
        }
        if (old != null && _contexts.Count > 0)
        {
            string why = $"context closed: device {old.Name} was detached from guest {_session.Name} ({attach.Reason})";
            _session.Link.ContextsDetached(_contexts.Keys, why);
            foreach (var context in _contexts.Values) Context.Stop(context);
            _session.Log.Warning("guest {Guest}: device {Device} detached ({Reason}); closing {Contexts} context(s)",
                _session.Name, old.Name, attach.Reason, _contexts.Count);
            _contexts.Clear();
        }
        _session.Device = attach.Device;
        if (attach.Device != null)
            _session.Log.Info("guest {Guest} attached to device {Device} ({Reason})", _session.Name, attach.Device.Name, attach.Reason);
        Sender.Tell(new Control.ControlProtocol.Response(true, attach.Device == null
            ? $"guest {_session.Name} detached from {old!.Name}: its contexts are closed and everything they held is released"
            : old == null
                ? $"guest {_session.Name} attached to {attach.Device.Name}"
                : $"guest {_session.Name} moved from {old.Name} to {attach.Device.Name}: its contexts on {old.Name} are closed"));
    }

    private void Close(CloseContext request)
    {
        if (!_contexts.Remove(request.Context, out var context))
        {
            // Already closed by a detach: closing it is what the guest wanted.
            if (_session.Link.DetachedReason(request.Context) != null)
            {
                _session.Link.ContextReopened(request.Context);
                request.Reply();
                return;
            }
            request.Fail(Errno.ENOENT, $"CLOSE_CONTEXT: context {request.Context} is not open");
            return;
        }
        // The context answers after everything queued before it, then stops.
        context.Tell(request);
    }

    private void Route(Request request)
    {
        if (_contexts.TryGetValue(request.Context, out var context)) context.Tell(request);
        else if (_session.Link.DetachedReason(request.Context) is { } why) request.Fail(Errno.ENODEV, $"{OpTable.NameOf(request.Op)}: {why}");
        else request.Fail(Errno.ENOENT, $"{OpTable.NameOf(request.Op)}: context {request.Context} is not open");
    }

    private string _stopReason = "host is shutting down";

    // Whatever stopped this actor (disconnect, failure, shutdown), the guest is told why.
    protected override void PostStop() => _session.Link.CloseWith(Op.Shutdown, Errno.ESHUTDOWN, _stopReason);

    // A failure anywhere below ends this guest (the registry stops it): no half-cleaned state.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);
}
