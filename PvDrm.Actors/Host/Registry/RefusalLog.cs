using Akka.Event;
using PvDrm.Protocol;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host.Registry;

/// <summary>
/// Logs refused requests, host-wide, at most <see cref="PerWindow"/> lines per peer (a uid, a TCP
/// address, a vsock CID) and <see cref="HostWidePerWindow"/> in all per window; the rest are
/// counted and summed up in one line when that peer's next window opens. Keyed by peer, not by
/// connection or name, because a peer decides how often it reconnects and which names it tries;
/// the table of peers is bounded too (<see cref="MaxPeers"/>), forgetting the oldest windows.
/// </summary>
internal sealed class RefusalLog
{
    public const int PerWindow = 10;
    public const int HostWidePerWindow = 100;
    public const int MaxPeers = 1024;
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private readonly ILoggingAdapter _log;
    private readonly object _lock = new();
    private readonly Dictionary<string, PeerWindow> _peers = new(StringComparer.Ordinal);
    private DateTime _hostWindowStart = DateTime.MinValue;
    private int _hostLogged;

    public RefusalLog(ILoggingAdapter log) => _log = log;

    /// <param name="peer">Who the limit applies to (<see cref="PeerKey"/>).</param>
    /// <param name="guest">What the line calls the guest: its name, or what is known before HELLO.</param>
    public void Refused(string peer, string guest, Op op, uint context, int errno, string message)
    {
        long suppressedBefore = 0;
        lock (_lock)
        {
            var now = DateTime.UtcNow;
            if (now - _hostWindowStart >= Window) (_hostWindowStart, _hostLogged) = (now, 0);
            var window = WindowOf(peer, now);
            if (now - window.Start >= Window)
            {
                (suppressedBefore, window.Suppressed, window.Logged, window.Start) = (window.Suppressed, 0, 0, now);
            }
            if (window.Logged >= PerWindow || _hostLogged >= HostWidePerWindow)
            {
                window.Suppressed++;
                return;
            }
            window.Logged++;
            _hostLogged++;
        }
        if (suppressedBefore > 0)
            _log.Info("{Peer}: {Suppressed} more refused requests were not logged in the last {WindowSeconds} s", peer, suppressedBefore, (int)Window.TotalSeconds);
        _log.Info("guest {Guest}: {Op} in context {Context} refused with {Errno}: {Reason}", guest, OpTable.NameOf(op), context, Errno.Name(errno), message);
    }

    /// <summary>The peer's window; at <see cref="MaxPeers"/>, the peer whose window opened first is forgotten.</summary>
    private PeerWindow WindowOf(string peer, DateTime now)
    {
        if (_peers.TryGetValue(peer, out var window)) return window;
        if (_peers.Count >= MaxPeers)
        {
            var oldest = _peers.MinBy(p => p.Value.Start);
            _peers.Remove(oldest.Key);
        }
        return _peers[peer] = new PeerWindow { Start = DateTime.MinValue };
    }

    /// <summary>
    /// Whom limits before admission apply to: the uid of a Unix peer, the address of a TCP peer
    /// (without its port, which the peer picks), the CID of a vsock peer.
    /// </summary>
    public static string PeerKey(Native.Io.Connection connection) => PeerKey(connection.Peer, connection.PeerName);

    /// <param name="peerName">A stream peer's name: tcp:ADDR:PORT or vsock:CID:PORT.</param>
    public static string PeerKey(Native.Io.PeerCredentials? credentials, string peerName)
    {
        if (credentials is { } c) return $"uid {c.Uid}";
        int port = peerName.LastIndexOf(':');
        return port > peerName.IndexOf(':') ? peerName[..port] : peerName;
    }

    private sealed class PeerWindow
    {
        public DateTime Start;
        public int Logged;
        public long Suppressed;
    }
}
