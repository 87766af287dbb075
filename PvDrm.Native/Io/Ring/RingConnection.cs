using PvDrm.Native.Interop;

namespace PvDrm.Native.Io.Ring;

/// <summary>
/// A <see cref="Connection"/> over a Unix socket that can move its frames into a shared ring once
/// both sides agree (RING_ATTACH, PROTOCOL.md). Until then, and afterwards for every frame that
/// carries a descriptor or does not fit a slot, frames travel over the socket; the socket also
/// says when the peer is gone. The handler sees one connection: frames from both ways arrive at
/// it, replies are matched by request id. The two ends differ in how they wait for frames:
/// <see cref="RingServerConnection"/> (the host's event loop) and <see cref="RingClientConnection"/>.
/// </summary>
public abstract class RingConnection : Connection, IFrameHandler
{
    protected const int Open = 0, Closing = 1, Closed = 2;

    private IFrameHandler? _handler;
    private volatile int _state;
    private string? _ringFault;

    protected RingConnection(Connection socket)
    {
        if (!socket.CanPassFds) throw new ArgumentException("a ring is set up over a Unix socket (it passes the memfd)", nameof(socket));
        Socket = socket;
    }

    /// <summary>The socket underneath: descriptors, the fallback, and the peer's liveness.</summary>
    protected Connection Socket { get; }

    /// <summary>Serializes writers of the outgoing queue with each other and with teardown.</summary>
    protected object SendLock { get; } = new();

    protected IFrameHandler Handler => _handler!;

    protected int State => _state;

    /// <summary>The ring, once attached (null before, and after teardown).</summary>
    protected SharedRing? Ring { get; set; }

    /// <summary>True once frames travel in the shared ring.</summary>
    public bool RingAttached => Ring != null;

    public override string Transport => Socket.Transport;
    public override bool CanPassFds => true;
    public override int MaxFrame => Socket.MaxFrame;
    public override PeerCredentials? Peer => Socket.Peer;
    public override string PeerName => Socket.PeerName;
    public override bool IsOpen => _state == Open && Socket.IsOpen;

    public override void Start(IFrameHandler handler)
    {
        _handler = handler;
        Socket.Start(this);
    }

    public override void Admitted() => Socket.Admitted();

    public override void Close(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open) return;
        Socket.Close(reason); // its OnClosed tears the ring down
    }

    /// <summary>The peer broke the ring: the connection ends like a broken stream.</summary>
    protected void RingCorrupt(string why)
    {
        _ringFault ??= $"ring protocol error: {why}";
        Close(_ringFault);
    }

    void IFrameHandler.OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd) => Handler.OnFrame(frame, fd);

    void IFrameHandler.OnClosed(string reason)
    {
        _state = Closing;
        SocketClosed(_ringFault ?? reason);
    }

    /// <summary>The socket is gone: stop using the ring, release it, then tell the handler (once).</summary>
    protected abstract void SocketClosed(string reason);

    /// <summary>Marks the connection closed and unmaps the ring under the send lock, so no writer can touch it after.</summary>
    protected void ReleaseRing()
    {
        lock (SendLock)
        {
            _state = Closed;
            Ring?.Dispose();
            Ring = null;
        }
    }
}
