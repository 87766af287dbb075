using Akka.Actor;
using Akka.Event;
using PvDrm.Protocol;
using PvDrm.Actors.Host.Gate;
using PvDrm.Native.Io;
using PvDrm.Actors.Host.Guest;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors.Host;

/// <summary>
/// The host's end of one guest connection: HELLO goes to the guest registry for admission;
/// admitted requests take the route the sequential gate last published: straight to the guest's
/// actor, or through the gate.
/// </summary>
internal sealed class GuestLink : ServerLink
{
    private readonly IActorRef _registry;
    private readonly GuestRoute _route;
    private readonly RefusalLog _refusals;
    private volatile IActorRef? _guest;
    private volatile string? _name;
    private readonly RingSettings _ring;

    /// <param name="refusals">The host's refusal log, limited per peer (not per connection: a peer can reconnect at will).</param>
    public GuestLink(Connection connection, HostSettings settings, IActorRef registry, PublishedRoute routes, RefusalLog refusals)
        : base(connection, settings.Protocol, settings.InFlightPerGuest)
    {
        _registry = registry;
        _route = new GuestRoute(routes);
        _refusals = refusals;
        _ring = settings.Ring;
        Peer = RefusalLog.PeerKey(connection);
    }

    /// <summary>Whom the limits before admission, and the refusal log's, count this connection against.</summary>
    public string Peer { get; }

    protected override void OnRefused(Op op, uint context, int errno, string message) =>
        _refusals.Refused(Peer, _name ?? $"(before HELLO, {Connection.PeerName})", op, context, errno, message);

    protected override void OnHello(Requests.Hello hello) => _registry.Tell(new AdmissionProtocol.Admit(hello, this));

    /// <summary>Called by the registry once the guest's actor exists.</summary>
    public void Admitted(IActorRef guest, Requests.Hello hello, in Replies.Hello reply)
    {
        _name = hello.Name;
        _guest = guest;
        // The connection may have closed while the registry decided; OnClosed then saw no guest.
        if (!Connection.IsOpen) guest.Tell(new GuestProtocol.LinkClosed("connection closed during admission"));
        Admit(hello, reply);
    }

    /// <summary>RING_ATTACH: adopts the guest's ring within <c>pvdrm.host.ring</c>'s limits.</summary>
    protected override Native.Interop.FileDescriptor AcceptRing(Requests.RingAttach attach) =>
        AdoptRing(attach, _ring.Enabled ? _ring.Limits : null, $"{RingSettings.Root}.enabled");

    /// <summary>The admitted guest's session, set as it is created (before any request is delivered).</summary>
    internal GuestSession? Session { get; set; }

    private long _answeredInBatch = -1;

    /// <summary>Along the route the gate published (<see cref="GuestRoute"/>): through the gate, or straight to the guest's actor.</summary>
    protected override void Deliver(Request request)
    {
        if (!_route.ThroughGate(request, _guest!) && !AnsweredHere(request)) _guest!.Tell(request);
    }

    /// <summary>
    /// Answers a device query on the I/O loop, sparing the hop to the guest actor, for at most one
    /// request per batch read: a guest waiting on each answer gets it at once, while one that
    /// floods goes through its actor and in-flight limit like any request, so it cannot take more
    /// than its share of the loop (and of its peers' replies) from other guests.
    /// </summary>
    private bool AnsweredHere(Request request)
    {
        long batch = Connection.ReadBatch;
        // No device attached: the guest actor answers ENODEV.
        if (batch == _answeredInBatch || Session?.Device is not { CallsMayBlock: false } device || !DeviceQueries.TryAnswer(request, device)) return false;
        _answeredInBatch = batch;
        return true;
    }

    /// <summary>This guest's Prometheus series; null when metrics are off (set at admission).</summary>
    public Metrics.GuestMetrics? Metrics { get; set; }

    protected override void OnAnswered(Request request, int status, Native.Gpu.GpuFence? work)
    {
        Metrics?.Record(request.Op, status, request.ReceivedAt);
        request.Route?.Answered(request, work);
    }

    // Contexts closed by a detach, and why: their requests still in flight, and later ones, hear ENODEV.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<uint, string> _detached = new();

    /// <summary>The guest's actor closed these contexts because their device was detached.</summary>
    public void ContextsDetached(IEnumerable<uint> contexts, string reason)
    {
        foreach (uint context in contexts) _detached[context] = reason;
    }

    /// <summary>The context number is in use again (or closed by the guest): forget its detach.</summary>
    public void ContextReopened(uint context)
    {
        if (!_detached.IsEmpty) _detached.TryRemove(context, out _);
    }

    /// <summary>Why the context was closed by a detach, or null.</summary>
    public string? DetachedReason(uint context) => _detached.IsEmpty ? null : _detached.GetValueOrDefault(context);

    protected override (int Errno, string Message)? CancelledBecause(Request request) =>
        DetachedReason(request.Context) is { } why ? (Native.Interop.Errno.ENODEV, $"{OpTable.NameOf(request.Op)}: {why}") : null;

    public override void OnClosed(string reason)
    {
        if (_guest is { } guest) guest.Tell(new GuestProtocol.LinkClosed(reason));
        else _registry.Tell(new AdmissionProtocol.ClosedBeforeAdmission(this)); // frees its place among the unadmitted
    }
}
