using PvDrm.Native.Interop;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io;

/// <summary>
/// A <see cref="Connection"/> over a Unix SOCK_SEQPACKET socket: one message is one frame, and a
/// file descriptor may travel with it (the zero-copy path for GEM mappings).
/// </summary>
public sealed class SeqPacketConnection : Connection, IReadinessHandler
{
    private const int Open = 0, Closing = 1, Closed = 2;

    private readonly FileDescriptor _socket;
    private readonly EventLoop _loop;
    private readonly ConnectionOptions _options;
    private readonly object _sendLock = new();
    private readonly Queue<(byte[] Frame, FileDescriptor? Fd)> _pending = new();
    private readonly Action _drain;
    private long _pendingBytes;
    private IFrameHandler? _handler;
    private ulong _registration;
    private volatile bool _paused;
    private volatile int _state;
    private string _closeReason = "";

    public SeqPacketConnection(FileDescriptor socket, ConnectionOptions options, EventLoop? loop = null, PeerCredentials? peer = null)
    {
        _socket = socket;
        _options = options;
        _loop = loop ?? EventLoop.Default;
        _drain = Drain;
        Peer = peer ?? UnixSocket.GetPeerCredentials(socket);
        // A SEQPACKET message must fit the sender's buffer: ask for room for two full frames,
        // and shrink the frame limit if the kernel (net.core.wmem_max) grants less.
        int granted = UnixSocket.SetSendBuffer(socket, options.MaxFrame * 2 + 4096);
        MaxFrame = Math.Min(options.MaxFrame, granted / 2 - 1024);
    }

    /// <summary>Connects to a host or proxy listening at <paramref name="path"/>.</summary>
    public static SeqPacketConnection Connect(string path, ConnectionOptions options, EventLoop? loop = null) =>
        new(UnixSocket.Connect(path), options, loop);

    public override string Transport => "unix";

    public override bool CanPassFds => true;

    public override int MaxFrame { get; }

    public override PeerCredentials? Peer { get; }

    public override bool IsOpen => _state == Open;

    public override void Start(IFrameHandler handler)
    {
        _handler = handler;
        _registration = _loop.Register(_socket, this);
    }

    public override bool Send(ReadOnlySpan<byte> frame, FileDescriptor? fd = null)
    {
        lock (_sendLock)
        {
            if (_state != Open) return false;
            if (_pending.Count == 0)
            {
                int err = UnixSocket.Send(_socket, frame, fd);
                if (err == 0) return true;
                if (err != EAGAIN)
                {
                    Close($"send failed: {Errno.Name(err)}");
                    return false;
                }
            }
            if (_pendingBytes + frame.Length > _options.MaxPendingSendBytes)
            {
                Close($"peer is not reading: {_pendingBytes} bytes already wait to be sent");
                return false;
            }
            // The caller may close its descriptor as soon as we return: keep our own copy.
            _pending.Enqueue((frame.ToArray(), fd?.Duplicate()));
            _pendingBytes += frame.Length;
            return true;
        }
    }

    public override void PauseReceiving() => _paused = true;

    public override void ResumeReceiving()
    {
        if (!_paused) return;
        _paused = false;
        _loop.Post(_drain); // edge-triggered: frames that arrived while paused raise no new event
    }

    public override void Close(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open) return;
        _closeReason = reason;
        _loop.Post(Teardown);
    }

    void IReadinessHandler.OnReady(uint events)
    {
        if ((events & (uint)EPOLLOUT) != 0) Flush();
        if ((events & (uint)EPOLLHUP) != 0 && _paused)
        {
            // The peer is gone and we are not reading: what it left queued no longer matters.
            Close("peer closed the connection");
            return;
        }
        if ((events & (uint)(EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) Drain();
    }

    private void Drain()
    {
        var handler = _handler!;
        byte[] buffer = _loop.ReceiveBuffer(MaxFrame);
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        for (int budget = _options.FramesPerWake; ; budget--)
        {
            if (_state != Open || _paused) return;
            if (budget == 0)
            {
                _loop.Post(_drain); // fairness: let the other connections on this loop run first
                return;
            }

            int n = UnixSocket.Receive(_socket, buffer.AsSpan(0, MaxFrame), fds, out int fdCount, out int flags);
            if (n == -EAGAIN) return;
            string? error = n < 0 ? $"receive failed: {Errno.Name(-n)}"
                : n == 0 ? "peer closed the connection"
                : (flags & MSG_CTRUNC) != 0 ? "descriptors sent with a frame were truncated (MSG_CTRUNC)"
                : (flags & MSG_TRUNC) != 0 ? $"frame larger than the maximum of {MaxFrame} bytes"
                : fdCount > 1 ? $"{fdCount} descriptors sent with one frame (at most 1)"
                : null;
            if (error != null)
            {
                for (int i = 0; i < fdCount; i++) close(fds[i]);
                Close(error);
                return;
            }

            var fd = fdCount == 1 ? new FileDescriptor(fds[0]) : null;
            try
            {
                handler.OnFrame(buffer.AsSpan(0, n), fd);
            }
            catch (Exception e)
            {
                Close($"frame handler failed: {e.Message}");
                return;
            }
        }
    }

    private void Flush()
    {
        lock (_sendLock)
        {
            while (_state == Open && _pending.Count > 0)
            {
                var (frame, fd) = _pending.Peek();
                int err = UnixSocket.Send(_socket, frame, fd);
                if (err == EAGAIN) return;
                _pending.Dequeue();
                _pendingBytes -= frame.Length;
                fd?.Dispose();
                if (err != 0)
                {
                    Close($"send failed: {Errno.Name(err)}");
                    return;
                }
            }
        }
    }

    private void Teardown()
    {
        lock (_sendLock)
        {
            _state = Closed;
            foreach (var (_, fd) in _pending) fd?.Dispose();
            _pending.Clear();
            _pendingBytes = 0;
        }
        if (_registration != 0) _loop.Unregister(_registration, _socket);
        _socket.Dispose();
        _handler?.OnClosed(_closeReason);
    }
}
