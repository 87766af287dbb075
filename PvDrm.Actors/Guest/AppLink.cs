using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest;

/// <summary>
/// The proxy's end of one application connection. HELLO is answered here, without the host;
/// requests go to the application's session actor. Over a Unix socket an application may move its
/// frames into a shared-memory ring (RING_ATTACH) as with the host.
/// </summary>
internal sealed class AppLink : ServerLink
{
    private readonly UpstreamLink _upstream;
    private readonly ulong _session;
    private readonly ProxyRingSettings _ring;
    private IActorRef _sessionActor = ActorRefs.Nobody;

    public AppLink(Connection connection, UpstreamLink upstream, ulong session, int maxInFlight, ProxyRingSettings ring)
        : base(connection, ProtocolLimits.Default, maxInFlight)
    {
        _upstream = upstream;
        _session = session;
        _ring = ring;
    }

    public void Start(IActorRef sessionActor)
    {
        _sessionActor = sessionActor;
        Start();
    }

    protected override void OnHello(Requests.Hello hello)
    {
        if (hello.Version != ProtocolLimits.Version)
        {
            Refuse(hello, Native.Interop.Errno.EPROTO, $"protocol version {hello.Version} is not supported; this proxy speaks version {ProtocolLimits.Version}");
            return;
        }
        // Applications get no more than the host link can carry.
        CapMaxFrame(_upstream.MaxFrame);
        // Applications may map only if descriptors travel the whole way: to us, and from the host.
        uint caps = (Connection.CanPassFds && _upstream.CanMap ? ProtocolLimits.CapabilityMap : 0) | RingCapability;
        Admit(hello, new Replies.Hello(ProtocolLimits.Version, caps, (uint)MaxFrame, _session));
    }

    /// <summary>
    /// RING_ATTACH: adopts the application's ring within <c>pvdrm.guest.ring</c>'s limits, on the
    /// host's path (<see cref="ServerLink.AdoptRing"/>); a ring it breaks ends this application's
    /// connection only, and its session then releases its contexts.
    /// </summary>
    protected override Native.Interop.FileDescriptor AcceptRing(Requests.RingAttach attach) =>
        AdoptRing(attach, _ring.Enabled ? _ring.Limits : null, $"{ProxyRingSettings.Root}.enabled");

    protected override void Deliver(Request request) => _sessionActor.Tell(request);

    public override void OnClosed(string reason) => _sessionActor.Tell(new ProxyProtocol.AppClosed(reason));
}
