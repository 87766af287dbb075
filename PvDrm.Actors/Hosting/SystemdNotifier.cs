using System.Net.Sockets;
using System.Text;
using PvDrm.Native.Io;

namespace PvDrm.Actors;

/// <summary>
/// sd_notify(3) for a <c>Type=notify</c> unit: datagrams to <c>$NOTIFY_SOCKET</c> saying when the
/// sockets listen (READY=1), what the service is doing (STATUS=) and that it is alive (WATCHDOG=1).
/// Outside systemd (no NOTIFY_SOCKET) every call does nothing.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _target;
    private Timer? _watchdog;
    private int _watchdogPosts;

    /// <param name="address">A NOTIFY_SOCKET value; null or empty: an inert notifier.</param>
    public SystemdNotifier(string? address)
    {
        if (string.IsNullOrEmpty(address)) return;
        // "@name" is the abstract namespace, which the socket address spells with a leading NUL.
        _target = new UnixDomainSocketEndPoint(address[0] == '@' ? "\0" + address[1..] : address);
        // Never blocking: the watchdog is fed from the I/O loop, which a full queue at a reader
        // that stopped reading must not stall; such a notification is dropped.
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
    }

    /// <summary>The notifier of this process's environment: inert without NOTIFY_SOCKET.</summary>
    public static SystemdNotifier FromEnvironment() => new(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));

    /// <summary>Whether systemd listens (NOTIFY_SOCKET is set).</summary>
    public bool Enabled => _socket != null;

    /// <summary>
    /// Half of <c>$WATCHDOG_USEC</c> when the watchdog is on for this process (WatchdogSec= in the
    /// unit, and WATCHDOG_PID, if set, is ours); null otherwise.
    /// </summary>
    public static TimeSpan? WatchdogInterval()
    {
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (pid != null && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)) return null;
        return long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out long usec) && usec > 0
            ? TimeSpan.FromMicroseconds(usec / 2.0) : null;
    }

    /// <summary>Sends one state (several as "A=1\nB=2"); a failure is reported, never thrown.</summary>
    public void Notify(string state)
    {
        if (_socket == null) return;
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _target!);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
        {
        }
        catch (SocketException e)
        {
            Console.Error.WriteLine($"sd_notify to {Environment.GetEnvironmentVariable("NOTIFY_SOCKET")} failed: {e.Message}");
        }
    }

    /// <summary>READY=1 with a STATUS line: the service now does what it is for.</summary>
    public void Ready(string status) => Notify($"READY=1\nSTATUS={status}");

    /// <summary>
    /// Feeds the watchdog, when it is on, from <paramref name="loop"/>: a timer posts the WATCHDOG=1
    /// to the loop, so a loop stuck in a callback stops feeding and systemd restarts the service.
    /// </summary>
    public void StartWatchdog(EventLoop loop)
    {
        if (WatchdogInterval() is { } interval) StartWatchdog(loop, interval);
    }

    /// <summary>Feeds the watchdog every <paramref name="interval"/> from <paramref name="loop"/>.</summary>
    public void StartWatchdog(EventLoop loop, TimeSpan interval)
    {
        if (_socket == null) return;
        _watchdog = new Timer(_ =>
        {
            Interlocked.Increment(ref _watchdogPosts);
            loop.Post(() => Notify("WATCHDOG=1"));
        }, null, TimeSpan.Zero, interval);
    }

    /// <summary>How many WATCHDOG=1 the timer handed to the loop so far (sent only when the loop runs them).</summary>
    public int WatchdogPosts => Volatile.Read(ref _watchdogPosts);

    public void Dispose()
    {
        _watchdog?.Dispose();
        if (_socket != null) Notify("STOPPING=1");
        _socket?.Dispose();
    }
}
