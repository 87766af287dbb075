using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;

namespace PvDrm.Actors.Host.Registry;

/// <summary>
/// The registry's part before HELLO (<c>pvdrm.host.admission</c>): each connection not yet
/// admitted holds a place in <see cref="UnadmittedConnections"/> (taken by the listener as it
/// accepted, or here for connections handed over directly) and has until the HELLO deadline.
/// Past a cap a connection is told why (a SHUTDOWN event, <c>EAGAIN</c>, naming the key) and
/// closed at once.
/// </summary>
internal sealed partial class GuestRegistry
{
    private readonly Dictionary<GuestLink, Unadmitted> _unadmitted = new();

    private sealed class Unadmitted(ICancelable deadline)
    {
        public ICancelable Deadline { get; } = deadline;
        public bool HelloArrived { get; set; }
    }

    private void Accept(AdmissionProtocol.Accept accept)
    {
        var connection = accept.Connection;
        string peer = RefusalLog.PeerKey(connection);
        if (!accept.Counted && _places.TryEnter(peer) is { } over)
        {
            // Handed over directly (not through a listener); never started, so nothing is read from it.
            _refusals.Refused(peer, $"(before HELLO, {connection.PeerName})", Op.Hello, 0, Errno.EAGAIN, over);
            connection.Send(FrameEncoder.EncodeEvent(Op.Shutdown, 0, -Errno.EAGAIN, over));
            connection.Close($"refused: {over}");
            return;
        }
        // A Unix guest may move its frames into a shared ring later (RING_ATTACH): the link reads through a connection that can.
        if (_settings.Ring.Enabled && connection is SeqPacketConnection unix) connection = new RingServerConnection(unix);
        var link = new GuestLink(connection, _settings, Self, _routes, _refusals);
        var deadline = Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.Admission.HelloTimeout, Self, new AdmissionProtocol.HelloDeadline(link), Self);
        _unadmitted[link] = new Unadmitted(deadline);
        link.Start();
    }

    /// <summary>HELLO arrived: from now on the host is deciding, and the deadline no longer applies.</summary>
    private void HelloArrived(GuestLink link)
    {
        if (_unadmitted.TryGetValue(link, out var waiting)) waiting.HelloArrived = true;
    }

    private void OnHelloDeadline(GuestLink link)
    {
        if (!_unadmitted.TryGetValue(link, out var waiting) || waiting.HelloArrived) return;
        LeaveUnadmitted(link);
        string why = $"no HELLO within {_settings.Admission.HelloTimeout.TotalSeconds:0.###} s of connecting ({AdmissionSettings.Root}.hello-timeout)";
        _refusals.Refused(link.Peer, $"(before HELLO, {link.Connection.PeerName})", Op.Hello, 0, Errno.ETIMEDOUT, why);
        link.CloseWith(Op.Shutdown, Errno.ETIMEDOUT, why);
    }

    /// <summary>The connection no longer counts as unadmitted: admitted, or gone. Safe to call twice.</summary>
    private void LeaveUnadmitted(GuestLink link)
    {
        if (!_unadmitted.Remove(link, out var waiting)) return;
        waiting.Deadline.Cancel();
        _places.Leave(link.Peer);
    }
}
