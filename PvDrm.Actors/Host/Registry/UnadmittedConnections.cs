using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Host.Registry;

/// <summary>
/// Counts connections that have not been admitted, in total and per peer, against
/// <c>pvdrm.host.admission</c>. Thread-safe: the listeners reserve a place on the I/O loop as
/// they accept, before anything is built for the connection, so a crowd of connections is
/// turned away at the cost of one accept and one small frame each.
/// </summary>
internal sealed class UnadmittedConnections(AdmissionSettings settings, RefusalLog refusals)
{
    /// <summary>The host's refusal log, which turning a connection away writes to too.</summary>
    public RefusalLog Refusals { get; } = refusals;

    private readonly object _lock = new();
    private readonly Dictionary<string, int> _byPeer = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>Takes a place for a new connection of <paramref name="peer"/>; null, or why not (naming the key).</summary>
    public string? TryEnter(string peer)
    {
        lock (_lock)
        {
            int fromPeer = _byPeer.GetValueOrDefault(peer);
            if (_total >= settings.UnadmittedTotal)
                return $"the host already has {_total} connections that have not said HELLO ({AdmissionSettings.Root}.unadmitted-total = {settings.UnadmittedTotal}); try again later";
            if (fromPeer >= settings.UnadmittedPerPeer)
                return $"{peer} already has {fromPeer} connections that have not said HELLO ({AdmissionSettings.Root}.unadmitted-per-peer = {settings.UnadmittedPerPeer}); try again later";
            _byPeer[peer] = fromPeer + 1;
            _total++;
            return null;
        }
    }

    /// <summary>Gives back a place taken by <see cref="TryEnter"/>: the connection was admitted, or is gone.</summary>
    public void Leave(string peer)
    {
        lock (_lock)
        {
            if (!_byPeer.TryGetValue(peer, out int count)) return;
            if (count == 1) _byPeer.Remove(peer);
            else _byPeer[peer] = count - 1;
            _total--;
        }
    }

    /// <summary>
    /// On accept, before a connection is built: takes a place for it, or sends the peer a
    /// SHUTDOWN event (EAGAIN, naming the key) on the bare socket, closes it and returns false.
    /// </summary>
    /// <param name="shownAs">The peer as logs show it (credentials, or address with port).</param>
    public bool TryAccept(FileDescriptor socket, string peer, string shownAs, bool stream)
    {
        if (TryEnter(peer) is not { } over) return true;
        Refusals.Refused(peer, $"(before HELLO, {shownAs})", Op.Hello, 0, Errno.EAGAIN, over);
        var frame = FrameEncoder.EncodeEvent(Op.Shutdown, 0, -Errno.EAGAIN, over);
        // A fresh non-blocking socket takes one small frame; if not, the close alone says enough.
        if (stream) StreamSocket.Send(socket, frame);
        else UnixSocket.Send(socket, frame, null);
        socket.Dispose();
        return false;
    }
}
