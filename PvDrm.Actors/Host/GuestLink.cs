using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Host;

/// <summary>
/// The host's end of one guest connection: HELLO goes to the guest registry for admission;
/// admitted requests go to the guest's actor, or through the sequential gate when it is on.
/// </summary>
internal sealed class GuestLink : ServerLink
{
    private readonly IActorRef _registry;
    private readonly IActorRef? _gate;
    private readonly IReplySink? _gatedSink;
    private readonly RefusalLog _refusals;
    private volatile IActorRef? _guest;
    private volatile string? _name;

    public GuestLink(Connection connection, HostSettings settings, IActorRef registry, IActorRef? gate, ILoggingAdapter log)
        : base(connection, settings.Protocol, settings.InFlightPerGuest)
    {
        _registry = registry;
        _gate = gate;
        _gatedSink = gate == null ? null : new GatedReplySink(this, gate);
        _refusals = new RefusalLog(log);
    }

    protected override void OnRefused(Op op, int errno, string message) =>
        _refusals.Refused(_name ?? $"(before HELLO, {Connection.PeerName})", op, errno, message);

    protected override void OnHello(Requests.Hello hello) => _registry.Tell(new GuestProtocol.Admit(hello, this));

    /// <summary>Called by the registry once the guest's actor exists.</summary>
    public void Admitted(IActorRef guest, Requests.Hello hello, in Replies.Hello reply)
    {
        _name = hello.Name;
        _guest = guest;
        // The connection may have closed while the registry decided; OnClosed then saw no guest.
        if (!Connection.IsOpen) guest.Tell(new GuestProtocol.LinkClosed("connection closed during admission"));
        Admit(hello, reply);
    }

    protected override IReplySink ReplySinkFor(Request request) => _gatedSink ?? this;

    protected override void Deliver(Request request)
    {
        if (_gate != null) _gate.Tell(new GateProtocol.Gated(request, _guest!));
        else _guest!.Tell(request);
    }

    public override void OnClosed(string reason) => _guest?.Tell(new GuestProtocol.LinkClosed(reason));
}
