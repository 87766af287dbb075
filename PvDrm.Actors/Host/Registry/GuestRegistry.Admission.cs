using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Host.Control;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Io.Ring;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Registry;

/// <summary>HELLO: a connection is checked (version, name, credentials, name caps) and its guest's actor made.</summary>
internal sealed partial class GuestRegistry
{
    private void Admit(AdmissionProtocol.Admit admit)
    {
        var (hello, link) = (admit.Hello, admit.Link);
        HelloArrived(link);
        if (hello.Version != ProtocolLimits.Version)
        {
            link.Refuse(hello, Errno.EPROTO, $"protocol version {hello.Version} is not supported; this host speaks version {ProtocolLimits.Version}");
            return;
        }
        if (!DeviceSettings.ValidName().IsMatch(hello.Name))
        {
            link.Refuse(hello, Errno.EINVAL, $"guest name '{hello.Name}' is not valid: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
            return;
        }
        if (_admission.Refusal(hello.Name, hello.Token, link.Connection.Peer) is { } refusal)
        {
            link.Refuse(hello, Errno.EACCES, refusal); // logged by the link's refusal log
            return;
        }
        if (_guests.ContainsKey(hello.Name) || _placing.ContainsKey(hello.Name))
        {
            link.Refuse(hello, Errno.EBUSY, $"a guest named '{hello.Name}' is already connected");
            return;
        }
        if (FreeNamesOverCap(hello.Name, link.Connection.Peer) is { } over)
        {
            link.Refuse(hello, Errno.EMFILE, over);
            return;
        }
        if (Pooled) PlaceFirst(admit); // admitted once a majority of the pool says where it goes
        else Admitted(admit, null);
    }

    /// <summary>Why a free name is refused: its uid already holds <c>auth.names-per-uid</c> of them (live or being placed); null: room.</summary>
    private string? FreeNamesOverCap(string name, Native.Io.PeerCredentials? peer)
    {
        if (peer is not { } p || !_admission.IsFree(name)) return null;
        bool Counted(GuestLink link, string guest) => link.Connection.Peer?.Uid == p.Uid && _admission.IsFree(guest);
        int held = _guests.Values.Count(g => Counted(g.Session.Link, g.Session.Name)) + _placing.Values.Count(a => Counted(a.Link, a.Hello.Name));
        if (held < _admission.NamesPerUid) return null;
        return $"guest '{name}' is not admitted: uid {p.Uid} already holds {held} live guests under names bound to no token or uid " +
               $"({HostSettings.Root}.auth.names-per-uid = {_admission.NamesPerUid}); disconnect one, or bind names in auth.uid-names or the tokens file";
    }

    /// <summary>
    /// The guest's actor answers device queries itself when its device's calls may block: it runs on
    /// the I/O loop (<see cref="GuestSession.OnIoLoop"/>) only while no device of this host may block.
    /// </summary>
    private Props GuestProps(GuestSession session) =>
        _devices.All.Any(d => d.CallsMayBlock) ? GuestActor.Props(session) : session.OnGuestDispatcher(GuestActor.Props(session));

    /// <param name="placement">In a pool: the guest's <c>node/device</c> (or none).</param>
    private void Admitted(AdmissionProtocol.Admit admit, string? placement)
    {
        var (hello, link) = (admit.Hello, admit.Link);
        LeaveUnadmitted(link);
        link.Metrics = _metrics?.ForGuest(hello.Name);
        _seen.Add(hello.Name);
        var session = new GuestSession(hello.Name, link, _gems, _settings, _log);
        if (placement != null) (session.Device, session.Redirect) = PlaceInPool(placement, link.Connection.Transport);
        else if (DeviceNameFor(hello.Name) is { } deviceName)
            session.Device = deviceName == HostSettings.AutoDevice ? LeastLoadedLocal() : _devices.Find(deviceName);
        var guest = Context.ActorOf(GuestProps(session), hello.Name);
        Context.Watch(guest);
        _guests[hello.Name] = (guest, session);
        if (Pooled) TellPoolGuestsHere();
        _names[guest] = hello.Name;
        _log.Info("guest {Guest} admitted over {Transport} (session {Session}) on device {Device}",
            hello.Name, link.Connection.Transport, _nextSession + 1, session.Device?.Name ?? "none");
        uint caps = (link.Connection.CanPassFds ? ProtocolLimits.CapabilityMap : 0)
            | (link.Connection is RingServerConnection ? ProtocolLimits.CapabilityRing : 0);
        link.Admitted(guest, hello, new Replies.Hello(ProtocolLimits.Version, caps, (uint)link.MaxFrame, ++_nextSession));
    }
}
