using PvDrm.Actors.Guest;
using PvDrm.Native.Interop;

namespace PvDrm.Guest;

/// <summary>
/// The proxy's first connection to its host, retried with backoff while the host is not there
/// yet (no socket, refused, unreachable): a proxy started before its host, or while the host
/// restarts, waits for it instead of exiting. Anything else (a refusal at HELLO, a bad address)
/// ends the attempt as before. A host that answers but redirects to a node that cannot be
/// reached (a lost node of a pool, before its guests are moved) is asked again every 250 ms.
/// </summary>
internal static class UpstreamConnector
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);

    /// <param name="waiting">Told of each failed attempt and the wait before the next.</param>
    public static async Task<UpstreamLink> ConnectAsync(ProxySettings settings, Action<string, TimeSpan> waiting, CancellationToken ct)
    {
        var delay = First;
        while (true)
        {
            try
            {
                return await UpstreamLink.ConnectAsync(settings, ct);
            }
            catch (Exception e) when (NotThereYet(e))
            {
                // A host that answers and names a lost node will name the guest's new device once
                // the pool moves it, within seconds: asked again at the first interval, not backed off.
                if (e is RedirectUnreachableException) delay = First;
                waiting(e.Message, delay);
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, settings.ConnectBackoff.Ticks));
            }
        }
    }

    private static bool NotThereYet(Exception e) => e switch
    {
        ErrnoException x => x.Errno is Errno.ENOENT or Errno.ECONNREFUSED or Errno.ECONNRESET or Errno.EPIPE or Errno.ETIMEDOUT
            or 101 /* ENETUNREACH */ or 103 /* ECONNABORTED */ or 113 /* EHOSTUNREACH */ or 19 /* ENODEV: no vsock transport yet */,
        System.Net.Sockets.SocketException s => s.SocketErrorCode is System.Net.Sockets.SocketError.ConnectionRefused
            or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable
            or System.Net.Sockets.SocketError.TimedOut or System.Net.Sockets.SocketError.ConnectionReset,
        _ => false,
    };
}
