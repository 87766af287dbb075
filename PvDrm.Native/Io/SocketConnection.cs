using System.Buffers;
using PvDrm.Native.Interop;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io;

/// <summary>
/// What every socket-backed <see cref="Connection"/> shares: reads happen only on the event
/// loop's thread, a bounded number of frames per wake-up (so one busy peer cannot hold the loop);
/// sends may come from any thread and never block (what the socket cannot take waits in a
/// bounded queue, flushed when it becomes writable); pausing stops reading for back-pressure;
/// teardown happens once, on the loop thread.
/// </summary>
public abstract class SocketConnection : Connection, IReadinessHandler
{
    private const int Open = 0, Closing = 1, Closed = 2;

    private readonly object _sendLock = new();
    private readonly Queue<PendingFrame> _pending = new();
    private readonly Action _drain;
    private long _pendingBytes;
    private IFrameHandler? _handler;
    private ulong _registration;
    private volatile bool _paused;
    private volatile bool _admitted;
    private volatile int _state;
    private long _readBatch;
    private string _closeReason = "";

    protected SocketConnection(FileDescriptor socket, ConnectionOptions options, EventLoop? loop)
    {
        Socket = socket;
        Options = options;
        Loop = loop ?? EventLoop.Default;
        _drain = Drain;
    }

    protected FileDescriptor Socket { get; }

    public ConnectionOptions Options { get; }

    /// <summary>The loop that reads this connection (a ring over it is read there too).</summary>
    public EventLoop Loop { get; }

    protected IFrameHandler Handler => _handler!;

    /// <summary>Back-pressure: stop delivering frames (a handler may pause in the middle of a read).</summary>
    protected bool Paused => _paused;

    public override bool IsOpen => _state == Open;

    /// <summary>The largest frame read now: <see cref="Connection.MaxFrame"/>, or less until admitted.</summary>
    protected int ReceiveLimit => _admitted || Options.UnadmittedMaxFrame is not int small ? MaxFrame : Math.Min(small, MaxFrame);

    /// <summary>True while the smaller limits of a peer not yet admitted apply.</summary>
    protected bool BeforeAdmission => !_admitted && Options.UnadmittedMaxFrame != null;

    private long MaxPendingSendBytes => _admitted || Options.UnadmittedMaxFrame is not int small ? Options.MaxPendingSendBytes : small;

    public override void Admitted() => _admitted = true;

    public override long ReadBatch => _readBatch;

    public override void Start(IFrameHandler handler)
    {
        _handler = handler;
        _registration = Loop.Register(Socket, this);
    }

    /// <summary>Sends what the socket takes now: the byte count, or -errno (-EAGAIN when full).</summary>
    protected abstract int SendSome(ReadOnlySpan<byte> data, FileDescriptor? fd);

    /// <summary>
    /// Reads and delivers at most <paramref name="budget"/> frames, stopping at once when
    /// <see cref="Paused"/>. Returns the number delivered, -1 when the socket has nothing more now,
    /// or null after closing the connection (with a reason).
    /// </summary>
    protected abstract int? ReceiveFrames(int budget);

    public override bool Send(ReadOnlySpan<byte> frame, FileDescriptor? fd = null)
    {
        lock (_sendLock)
        {
            if (_state != Open) return false;
            int sent = 0;
            if (_pending.Count == 0)
            {
                sent = SendSome(frame, fd);
                if (sent == frame.Length) return true;
                if (sent < 0 && sent != -EAGAIN)
                {
                    Close($"send failed: {Errno.Name(-sent)}");
                    return false;
                }
                if (sent < 0) sent = 0;
            }
            if (_pendingBytes + frame.Length - sent > MaxPendingSendBytes)
            {
                Close($"peer is not reading: {_pendingBytes} bytes already wait to be sent");
                return false;
            }
            // The caller may close its descriptor as soon as we return: keep our own copy, unless
            // part of the frame (and with it the descriptor) has already gone. The bytes go into a
            // pooled array: bulk copies queue frame after frame here, each too big for the small heap.
            _pending.Enqueue(PendingFrame.Copy(frame[sent..], sent == 0 ? fd?.Duplicate() : null));
            _pendingBytes += frame.Length - sent;
            return true;
        }
    }

    public override void PauseReceiving() => _paused = true;

    public override void ResumeReceiving()
    {
        if (!_paused) return;
        _paused = false;
        Loop.Post(_drain); // edge-triggered: frames that arrived while paused raise no new event
    }

    public override void Close(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open) return;
        _closeReason = reason;
        Loop.Post(Teardown);
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
        _readBatch++;
        int budget = Options.FramesPerWake;
        while (_state == Open && !_paused)
        {
            if (budget <= 0)
            {
                Loop.Post(_drain); // fairness: let the other connections on this loop run first
                return;
            }
            int? delivered;
            try
            {
                delivered = ReceiveFrames(budget);
            }
            catch (Exception e)
            {
                Close($"frame handler failed: {e.Message}");
                return;
            }
            if (delivered is not int n || n < 0) return;
            budget -= Math.Max(n, 1);
        }
    }

    private void Flush()
    {
        lock (_sendLock)
        {
            while (_state == Open && _pending.Count > 0)
            {
                var next = _pending.Peek();
                int sent = SendSome(next.Data.AsSpan(next.Offset, next.Length - next.Offset), next.Fd);
                if (sent == -EAGAIN) return;
                if (sent < 0)
                {
                    Close($"send failed: {Errno.Name(-sent)}");
                    return;
                }
                _pendingBytes -= sent;
                // A descriptor goes with the first bytes of its frame.
                next.Fd?.Dispose();
                next.Fd = null;
                next.Offset += sent;
                if (next.Offset < next.Length) return; // a stream took part of it; the rest goes on the next wake-up
                _pending.Dequeue().Free();
            }
        }
    }

    /// <summary>A frame (or what is left of it) waiting for the socket to take it.</summary>
    private sealed class PendingFrame(byte[] data, int length, FileDescriptor? fd)
    {
        public byte[] Data { get; } = data;
        public int Length { get; } = length;
        public FileDescriptor? Fd { get; set; } = fd;
        public int Offset { get; set; }

        public static PendingFrame Copy(ReadOnlySpan<byte> bytes, FileDescriptor? fd)
        {
            var data = ArrayPool<byte>.Shared.Rent(bytes.Length);
            bytes.CopyTo(data);
            return new PendingFrame(data, bytes.Length, fd);
        }

        /// <summary>Sent or dropped: the descriptor closes and the array goes back to the pool.</summary>
        public void Free()
        {
            Fd?.Dispose();
            Fd = null;
            ArrayPool<byte>.Shared.Return(Data);
        }
    }

    private void Teardown()
    {
        lock (_sendLock)
        {
            _state = Closed;
            foreach (var p in _pending) p.Free();
            _pending.Clear();
            _pendingBytes = 0;
        }
        if (_registration != 0) Loop.Unregister(_registration, Socket);
        Socket.Dispose();
        _handler?.OnClosed(_closeReason);
    }
}
